// Keys and signatures end to end, through the `oemlink` executable: the documented DIMO
// addresses from an imported seed, every emitted event verifying (by our verifier and by
// ethers.js), tampering caught, wrong KEKs refused, and no secret in logs at trace level.
#include "core/crypto/bip32.hpp"
#include "tests/e2e/cli_fixture.hpp"

#include <chrono>
#include <cstdlib>
#include <thread>

namespace {

using namespace oemlink::testing;

constexpr const char* kSeedHex = "cabaabd8c7c7d27347349e48fb11319bc6656cb6cc1bdc717e94dae8db7e6bc2";
constexpr const char* kKek = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
constexpr const char* kOtherKek =
    "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100";

std::string hex(std::span<const uint8_t> b) {
  static constexpr char k[] = "0123456789abcdef";
  std::string s;
  for (uint8_t c : b) {
    s.push_back(k[c >> 4]);
    s.push_back(k[c & 15]);
  }
  return s;
}

std::vector<uint8_t> seed_bytes() {
  std::vector<uint8_t> out;
  for (size_t i = 0; i < 64; i += 2)
    out.push_back(static_cast<uint8_t>(std::stoi(std::string(kSeedHex + i, 2), nullptr, 16)));
  return out;
}

class SigningCliTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    env_["OEMLINK_KEK"] = kKek;
    write("seed.hex", std::string(kSeedHex) + "\n");
    auto r = run({"keys", "import", "--seed-file", "seed.hex", "--vault", "data/vault.sealed"});
    ASSERT_EQ(r.rc, 0) << r.err;
  }

  fs::path fleet_config(const std::string& log_level = "info") {
    return write("fleet.yaml",
                 "data_dir: data\n"
                 "logging: {level: " +
                     log_level +
                     "}\n"
                     "drivers:\n"
                     "  - {name: mock, library: mock, poll_interval: 100ms, settings: {seed: 3}}\n"
                     "connections:\n"
                     "  - {id: car-a, driver: mock, vin: 5YJ3E1EA7KF000010, vehicle_token_id: 10,"
                     " synthetic_token_id: 20, key_child: 0}\n"
                     "  - {id: car-b, driver: mock, vin: 5YJ3E1EA7KF000011, vehicle_token_id: 11,"
                     " synthetic_token_id: 21, key_child: 1}\n"
                     "  - {id: car-c, driver: mock, vin: 5YJ3E1EA7KF000012, vehicle_token_id: 12,"
                     " synthetic_token_id: 22, key_child: 2}\n"
                     "sinks:\n"
                     "  - {name: events, type: file, path: events.jsonl}\n");
  }
};

TEST_F(SigningCliTest, ImportedDimoSeedGivesTheDocumentedAddresses) {
  const char* expected[] = {"0x8FF5F4f700242E43EC40ebAee93f390C7aD84aeD",
                            "0x5003F9E08AEE2398945915efE85cd70f3e2F151b",
                            "0xDf619BDB04Ecf7bB80Be8824d94032020406E113"};
  for (int child = 0; child < 3; ++child) {
    auto r = run({"keys", "address", std::to_string(child), "--vault", "data/vault.sealed"});
    EXPECT_EQ(r.rc, 0) << r.err;
    EXPECT_HAS(r.out, expected[child]);
  }
  // The sealed file holds no seed, in bytes or hex.
  std::string sealed = slurp(dir_ / "data/vault.sealed");
  auto seed = seed_bytes();
  EXPECT_EQ(sealed.find(std::string(seed.begin(), seed.end())), std::string::npos);
  EXPECT_EQ(sealed.find(kSeedHex), std::string::npos);
}

TEST_F(SigningCliTest, AWrongKekIsAClearErrorAndTouchesNothing) {
  std::string before = slurp(dir_ / "data/vault.sealed");
  auto mtime = fs::last_write_time(dir_ / "data/vault.sealed");
  env_["OEMLINK_KEK"] = kOtherKek;
  auto r = run({"keys", "address", "0", "--vault", "data/vault.sealed"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_HAS(r.err, "wrong key-encryption key");
  EXPECT_EQ(r.err.find(kOtherKek), std::string::npos);
  auto run_r = run({"run", "--config", fleet_config().string(), "--max-polls", "3"});
  EXPECT_EQ(run_r.rc, 1);
  EXPECT_HAS(run_r.err, "wrong key-encryption key");
  EXPECT_EQ(slurp(dir_ / "data/vault.sealed"), before);
  EXPECT_EQ(fs::last_write_time(dir_ / "data/vault.sealed"), mtime);
}

TEST_F(SigningCliTest, EveryEventVerifiesTamperingIsCaughtAndTraceLogsHoldNoSecrets) {
  auto cfg = fleet_config("trace");
  auto r = run({"run", "--config", cfg.string(), "--max-polls", "12", "--duration", "60s"});
  ASSERT_EQ(r.rc, 0) << r.err;
  std::string logs = r.out + r.err;

  auto v = run({"verify", "data/events.jsonl", "--keys", "--config", cfg.string()});
  EXPECT_EQ(v.rc, 0) << v.out << v.err;
  EXPECT_HAS(v.out, " 0 bad");
  EXPECT_HAS(v.out, "(connection car-b, key child 1)");
  EXPECT_EQ(v.out.find("BAD"), std::string::npos) << v.out;

  // Nothing secret at trace level: not the seed, not any child key, not the KEK.
  auto seed = seed_bytes();
  EXPECT_EQ(logs.find(kSeedHex), std::string::npos);
  EXPECT_EQ(logs.find(kKek), std::string::npos);
  for (uint32_t child = 0; child < 3; ++child) {
    auto key = oemlink::crypto::derive_hardened_child(seed, child);
    EXPECT_EQ(logs.find(hex(key)), std::string::npos) << "child key " << child << " logged";
    oemlink::secure_wipe(key.data(), key.size());
  }

  // Flip one byte inside the first event's data: that event, and only it, fails.
  std::string events = slurp(dir_ / "data/events.jsonl");
  size_t at = events.find("\"value\":");
  ASSERT_NE(at, std::string::npos);
  at += 8;
  events[at] = events[at] == '1' ? '2' : '1';
  std::ofstream(dir_ / "data/tampered.jsonl") << events;
  auto t = run({"verify", "data/tampered.jsonl", "--keys", "--config", cfg.string()});
  EXPECT_EQ(t.rc, 1);
  EXPECT_HAS(t.out, "BAD  line 1");
  EXPECT_HAS(t.out, " 1 bad");
}

TEST_F(SigningCliTest, TheRuntimeSignsThroughKeydWithoutHoldingTheSeedOrItsKek) {
  // keyd unseals the vault with the seed KEK and owns the registry; the runtime gets the socket
  // and its own data KEK, nothing of the seed's.
  pid_t keyd = spawn({"--vault", "data/vault.sealed", "--socket", "data/keyd.sock"},
                     fs::path(OEMLINK_BINARY_DIR) / "oemlink-keyd", "keyd");
  for (int i = 0; i < 200 && !fs::exists(dir_ / "data/keyd.sock"); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_TRUE(fs::exists(dir_ / "data/keyd.sock"));
  EXPECT_EQ(fs::status(dir_ / "data/keyd.sock").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  // The sealed seed is out of the runtime's reach, and so is its KEK: the runtime's environment
  // lacks it and vault.kek names a file the runtime cannot read. It runs all the same.
  fs::rename(dir_ / "data/vault.sealed", dir_ / "vault.sealed.moved");
  env_.erase("OEMLINK_KEK");
  env_["OEMLINK_DATA_KEK"] = kOtherKek;
  auto cfg = write("keyd.yaml",
                   "data_dir: data\n"
                   "vault: {backend: keyd, keyd_socket: keyd.sock, kek: {file: keyd-only.kek}}\n"
                   "data_kek: {env: OEMLINK_DATA_KEK}\n"
                   "drivers:\n"
                   "  - {name: mock, library: mock, poll_interval: 100ms}\n"
                   "connections:\n"
                   "  - {id: car-a, driver: mock, synthetic_token_id: 20, key_child: 0}\n"
                   "  - {id: car-b, driver: mock, synthetic_token_id: 21, key_child: 1}\n"
                   "sinks:\n"
                   "  - {name: events, type: file, path: keyd-events.jsonl}\n");
  auto r = run({"run", "--config", cfg.string(), "--max-polls", "6", "--duration", "60s"});
  EXPECT_EQ(r.rc, 0) << r.err;
  auto v = run({"verify", "data/keyd-events.jsonl", "--keys", "--config", cfg.string()});
  EXPECT_EQ(v.rc, 0) << v.out << v.err;
  EXPECT_HAS(v.out, "0x8FF5F4f700242E43EC40ebAee93f390C7aD84aeD (connection car-a");
  kill(keyd, SIGTERM);
  auto k = wait_for(keyd, "keyd");
  EXPECT_EQ(k.rc, 0) << k.err;
}

TEST_F(SigningCliTest, KeydWithoutADataKekIsRefusedByCheckConfigAndRun) {
  auto cfg = write("keyd.yaml",
                   "data_dir: data\n"
                   "vault: {backend: keyd}\n");
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"check-config", cfg.string()}, {"run", "--config", cfg.string()}}) {
    auto r = run(args);
    EXPECT_EQ(r.rc, 1) << args[0];
    EXPECT_HAS(r.err, "vault.backend");
    EXPECT_HAS(r.err, "needs a top-level data_kek");
  }
  auto same = write("same.yaml",
                    "data_dir: data\n"
                    "vault: {backend: keyd, kek: {env: OEMLINK_KEK}}\n"
                    "data_kek: {env: OEMLINK_KEK}\n");
  auto r = run({"check-config", same.string()});
  EXPECT_EQ(r.rc, 1);
  EXPECT_HAS(r.err, "data_kek");
  EXPECT_HAS(r.err, "same source as vault.kek");
}

// create_if_missing once replaced a deleted vault with a new random seed while keys.db still
// held the cars' children: every address changed without a word.
TEST_F(SigningCliTest, ANewSeedIsNeverCreatedOverClaimedChildren) {
  auto cfg = write("dev.yaml",
                   "data_dir: dev\n"
                   "vault: {create_if_missing: true, kek: {file: dev/kek.hex}}\n"
                   "drivers:\n"
                   "  - {name: mock, library: mock, poll_interval: 100ms}\n"
                   "connections:\n"
                   "  - {id: car-a, driver: mock, synthetic_token_id: 20, key_child: 0}\n"
                   "  - {id: car-b, driver: mock, synthetic_token_id: 21, key_child: 1}\n"
                   "sinks:\n"
                   "  - {name: events, type: file, path: events.jsonl}\n");
  auto r = run({"run", "--config", cfg.string(), "--max-polls", "2", "--duration", "60s"});
  ASSERT_EQ(r.rc, 0) << r.err;
  ASSERT_TRUE(fs::exists(dir_ / "dev/vault.sealed"));
  fs::remove(dir_ / "dev/vault.sealed");
  r = run({"run", "--config", cfg.string(), "--max-polls", "2", "--duration", "60s"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_HAS(r.err, "is missing while 2 key children are claimed");
  EXPECT_HAS(r.err, "Restore");
  EXPECT_FALSE(fs::exists(dir_ / "dev/vault.sealed"));
}

// A data dir from before data_kek has its data keys sealed under the seed KEK. Adding data_kek
// must not end in a bare "wrong key": the message names the reseal command, which moves both
// keys over once (and not while the daemon runs).
TEST_F(SigningCliTest, AnOldDataDirIsLedToResealItsDataKeys) {
  auto old_cfg = fleet_config();
  auto r = run({"run", "--config", old_cfg.string(), "--max-polls", "3", "--duration", "60s"});
  ASSERT_EQ(r.rc, 0) << r.err;
  const std::string outbox_key_before = slurp(dir_ / "data/outbox.key");

  std::string text = slurp(old_cfg);
  auto cfg = write("split.yaml", text + "data_kek: {env: OEMLINK_DATA_KEK}\n");
  env_["OEMLINK_DATA_KEK"] = kOtherKek;
  r = run({"run", "--config", cfg.string(), "--max-polls", "3", "--duration", "60s"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_HAS(r.err, "outbox.key");
  EXPECT_HAS(r.err, "sealed under the seed KEK");
  EXPECT_HAS(r.err, "oemlink data-keys reseal --config " + cfg.string());
  EXPECT_EQ(r.err.find(kOtherKek), std::string::npos);
  EXPECT_EQ(r.err.find(kKek), std::string::npos);

  // Not while a daemon holds the data dir.
  pid_t daemon = spawn({"run", "--config", old_cfg.string(), "--duration", "60s"}, kExe, "daemon");
  for (int i = 0; i < 500 && slurp(dir_ / "data/oemlink.lock") != std::to_string(daemon) + "\n";
       ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  r = run({"data-keys", "reseal", "--config", cfg.string(), "--from-kek-env", "OEMLINK_KEK"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_HAS(r.err, "in use by oemlink pid " + std::to_string(daemon));
  kill(daemon, SIGTERM);
  const Result d = wait_for(daemon, "daemon");
  ASSERT_EQ(d.rc, 0) << d.err;

  r = run({"data-keys", "reseal", "--config", cfg.string(), "--from-kek-env", "OEMLINK_KEK"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_HAS(r.out, "outbox.key: resealed under the data KEK");
  EXPECT_NE(slurp(dir_ / "data/outbox.key"), outbox_key_before);
  EXPECT_EQ(fs::status(dir_ / "data/outbox.key").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  r = run({"data-keys", "reseal", "--config", cfg.string(), "--from-kek-env", "OEMLINK_KEK"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_HAS(r.out, "outbox.key: already sealed under the data KEK");
  // The same data key, now under the data KEK: the outbox written before still opens.
  r = run({"run", "--config", cfg.string(), "--max-polls", "3", "--duration", "60s"});
  EXPECT_EQ(r.rc, 0) << r.err;
  r = run({"deadletter", "list", "--config", cfg.string()});
  EXPECT_EQ(r.rc, 0) << r.err;
  r = run({"data-keys", "reseal", "--config", cfg.string()});
  EXPECT_EQ(r.rc, 2);
}

TEST_F(SigningCliTest, AnIndependentEthereumLibraryRecoversEverySigner) {
  fs::path tool = kSource / "tools/verify-with-ethers";
  if (!fs::exists(tool / "node_modules/ethers") || std::system("node --version >/dev/null 2>&1"))
    GTEST_SKIP() << "ethers.js not installed (tools/install-deps.sh runs npm ci there)";
  auto cfg = fleet_config();
  auto r = run({"run", "--config", cfg.string(), "--max-polls", "9", "--duration", "60s"});
  ASSERT_EQ(r.rc, 0) << r.err;
  // The documented DIMO addresses, keyed by each car's producer DID.
  write("expected.json",
        "{\"did:erc721:137:0x4804e8D1661cd1a1e5dDdE1ff458A7f878c0aC6D:20\":"
        "\"0x8FF5F4f700242E43EC40ebAee93f390C7aD84aeD\","
        "\"did:erc721:137:0x4804e8D1661cd1a1e5dDdE1ff458A7f878c0aC6D:21\":"
        "\"0x5003F9E08AEE2398945915efE85cd70f3e2F151b\","
        "\"did:erc721:137:0x4804e8D1661cd1a1e5dDdE1ff458A7f878c0aC6D:22\":"
        "\"0xDf619BDB04Ecf7bB80Be8824d94032020406E113\"}");
  std::string cmd = "cd '" + dir_.string() + "' && node '" + (tool / "verify.mjs").string() +
                    "' data/events.jsonl expected.json > ethers.out 2>&1";
  int rc = std::system(cmd.c_str());
  std::string out = slurp(dir_ / "ethers.out");
  EXPECT_EQ(rc, 0) << out;
  EXPECT_HAS(out, " 0 bad");
}

}  // namespace
