// oemlink-keyd as a real process (and KeydServer in-process where a process adds nothing).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <functional>
#include <thread>

#include "core/vault/in_process_vault.hpp"
#include "core/vault/keyd_client_vault.hpp"
#include "core/vault/keyd_protocol.hpp"
#include "core/vault/keyd_server.hpp"
#include "core/vault/sealed_seed.hpp"
#include "core/vault/vault_factory.hpp"
#include "tests/vault/test_support.hpp"

namespace oemlink::vault {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

class KeydTest : public ::testing::Test {
 protected:
  void SetUp() override {
    test::write_file(dir_ / "seed", test::kDimoSeedHex, 0600);
    test::ScopedEnv env("OEMLINK_TEST_KEK", test::kKekHex);
    const Kek kek = load_kek({.kind = KekSourceConfig::Kind::env, .value = "OEMLINK_TEST_KEK"});
    import_vault(vault_, dir_ / "seed", kek);
  }

  std::unique_ptr<test::KeydProcess> start_keyd(std::vector<std::string> extra = {},
                                                const char* kek = test::kKekHex) {
    std::vector<std::string> args{"--vault",        vault_.string(),   "--socket",
                                  socket_.string(), "--threads",       "2",
                                  "--registry",     registry_.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return std::make_unique<test::KeydProcess>(
        args, std::vector<std::string>{std::string("OEMLINK_KEK=") + kek}, socket_);
  }

  KeydClientVault client() { return KeydClientVault({.socket = socket_}); }

  // Claims children 0 .. n-1 for connections "car-0" ...: keyd answers only for claimed ones.
  static void claim_children(KeyVault& vault, uint32_t n) {
    std::vector<std::string> ids;
    for (uint32_t i = 0; i < n; ++i) ids.push_back("car-" + std::to_string(i));
    std::vector<std::pair<uint32_t, std::string_view>> claims;
    for (uint32_t i = 0; i < n; ++i) claims.emplace_back(i, ids[i]);
    ASSERT_TRUE(vault.claim_all(claims).empty());
  }

  test::TempDir dir_;
  fs::path vault_ = dir_ / "vault.sealed";
  fs::path socket_ = dir_ / "run/keyd.sock";
  fs::path registry_ = dir_ / "keys.db";
};

TEST_F(KeydTest, ServesDimoAddressesAndRecoverableSignatures) {
  auto keyd = start_keyd();
  ASSERT_TRUE(keyd->running()) << test::read_file(keyd->log_file());
  KeydClientVault vault = client();
  claim_children(vault, 3);
  for (uint32_t child = 0; child < 3; ++child) {
    EXPECT_EQ(crypto::to_checksum_address(vault.address(child)), test::kDimoAddresses[child]);
    const crypto::Hash32 h = crypto::keccak256("keyd " + std::to_string(child));
    const auto who = crypto::recover_address(h, vault.sign_hash(child, h));
    ASSERT_TRUE(who.has_value());
    EXPECT_EQ(crypto::to_checksum_address(*who), test::kDimoAddresses[child]);
  }
  // A keyd-side error comes back as a VaultError; the connection stays usable.
  try {
    (void)vault.address(0x8000'0000u);
    FAIL();
  } catch (const VaultError& e) {
    EXPECT_THAT(e.what(), HasSubstr("out of range"));
  }

  struct stat st {};
  ASSERT_EQ(::lstat(socket_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0600u);

  const int status = keyd->terminate();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_FALSE(fs::exists(socket_));
  const std::string log = test::read_file(keyd->log_file());
  EXPECT_THAT(log, AllOf(HasSubstr("serving on"), HasSubstr("stopped"),
                         Not(HasSubstr(test::kKekHex)), Not(HasSubstr(test::kDimoSeedHex))));
}

TEST_F(KeydTest, KekFromFileAndViaTheFactory) {
  test::write_file(dir_ / "kek", test::kKekHex, 0600);
  auto keyd = start_keyd({"--kek-file", (dir_ / "kek").string()}, test::kOtherKekHex);
  ASSERT_TRUE(keyd->running()) << test::read_file(keyd->log_file());
  VaultConfig cfg;
  cfg.backend = VaultConfig::Backend::keyd;
  cfg.keyd_socket = socket_;
  KeyVaultPtr vault = open_vault(cfg);
  claim_children(*vault, 3);
  EXPECT_EQ(crypto::to_checksum_address(vault->address(2)), test::kDimoAddresses[2]);
}

// What `ps` and /proc show of a running keyd: neither the KEK of its environment nor the
// credentials of its --kek-command line.
TEST_F(KeydTest, NeitherTheEnvKekNorTheKekCommandLineStaysVisible) {
  {
    auto keyd = start_keyd();
    ASSERT_TRUE(keyd->running()) << test::read_file(keyd->log_file());
    const std::string env = test::read_file("/proc/" + std::to_string(keyd->pid()) + "/environ");
    EXPECT_THAT(env, AllOf(Not(HasSubstr(test::kKekHex)), Not(HasSubstr("OEMLINK_KEK="))));
  }
  test::write_file(dir_ / "kek", test::kKekHex, 0600);
  auto keyd = start_keyd(
      {"--kek-command", "cat '" + (dir_ / "kek").string() + "' # token=s3cr3t-api-token"},
      test::kOtherKekHex);
  ASSERT_TRUE(keyd->running()) << test::read_file(keyd->log_file());
  const std::string cmdline = test::read_file("/proc/" + std::to_string(keyd->pid()) + "/cmdline");
  EXPECT_THAT(cmdline, AllOf(HasSubstr("--kek-command"), Not(HasSubstr("s3cr3t"))));
}

TEST_F(KeydTest, WrongKekExitsWithAClearMessage) {
  auto keyd = start_keyd({}, test::kOtherKekHex);
  EXPECT_FALSE(keyd->running());
  const std::string log = test::read_file(keyd->log_file());
  EXPECT_THAT(log,
              AllOf(HasSubstr("wrong key-encryption key"), Not(HasSubstr(test::kOtherKekHex))));
  EXPECT_FALSE(fs::exists(socket_));
}

// Runs in a forked child as uid/gid 65534: connects, sends an address request and reports
// 0 = refused (connect denied, or closed without an answer), 1 = answered, 2 = setup failed.
[[noreturn]] void probe_as_nobody(const fs::path& socket) {
  if (::setgid(65534) != 0 || ::setuid(65534) != 0) _exit(2);
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, socket.c_str(), sizeof addr.sun_path - 1);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) _exit(0);
  const auto req = keyd::encode_request({keyd::Op::address, 0, {}, {}, {}});
  (void)::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  uint8_t buf[64];
  const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
  _exit(n > 0 ? 1 : 0);
}

int probe_exit_code(const fs::path& socket) {
  const pid_t pid = ::fork();
  if (pid == 0) probe_as_nobody(socket);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST_F(KeydTest, RefusesPeersOfAnotherUid) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to setuid() a probe to nobody";
  auto keyd = start_keyd();
  ASSERT_TRUE(keyd->running());
  // Layer 1: the 0600 socket in a 0700 directory keeps nobody out altogether.
  EXPECT_EQ(probe_exit_code(socket_), 0);
  // Layer 2: even with the file permissions opened up, SO_PEERCRED refuses the peer.
  fs::permissions(dir_.path(), fs::perms(0711));
  fs::permissions(socket_.parent_path(), fs::perms(0711));
  fs::permissions(socket_, fs::perms(0666));
  EXPECT_EQ(probe_exit_code(socket_), 0);
  // Our own uid still gets answers.
  KeydClientVault own = client();
  claim_children(own, 1);
  EXPECT_EQ(crypto::to_checksum_address(own.address(0)), test::kDimoAddresses[0]);
  keyd->terminate();
  EXPECT_THAT(test::read_file(keyd->log_file()), HasSubstr("refused a client with uid 65534"));
}

TEST_F(KeydTest, AllowUidLetsThatPeerIn) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to setuid() a probe to nobody";
  auto keyd = start_keyd({"--allow-uid", "65534"});
  ASSERT_TRUE(keyd->running());
  fs::permissions(dir_.path(), fs::perms(0711));
  fs::permissions(socket_.parent_path(), fs::perms(0711));
  fs::permissions(socket_, fs::perms(0666));
  EXPECT_EQ(probe_exit_code(socket_), 1);
}

TEST_F(KeydTest, ClientReconnectsAfterKeydRestarts) {
  auto keyd = start_keyd();
  KeydClientVault vault = client();
  claim_children(vault, 2);
  EXPECT_EQ(crypto::to_checksum_address(vault.address(1)), test::kDimoAddresses[1]);
  keyd->terminate();
  try {
    (void)vault.address(1);
    FAIL();
  } catch (const VaultError& e) {
    EXPECT_THAT(e.what(), AllOf(HasSubstr("keyd at " + socket_.string()),
                                HasSubstr("is oemlink-keyd running?")));
  }
  keyd = start_keyd();
  EXPECT_EQ(crypto::to_checksum_address(vault.address(1)), test::kDimoAddresses[1]);
}

TEST_F(KeydTest, FactoryFailsFastWithoutKeyd) {
  VaultConfig cfg;
  cfg.backend = VaultConfig::Backend::keyd;
  cfg.keyd_socket = socket_;
  try {
    (void)open_vault(cfg);
    FAIL();
  } catch (const VaultError& e) {
    EXPECT_THAT(e.what(), HasSubstr(socket_.string()));
  }
}

TEST_F(KeydTest, ConcurrentClientsFromFourThreads) {
  auto keyd = start_keyd();
  KeydClientVault vault = client();
  claim_children(vault, 3);
  std::atomic<int> bad{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        const uint32_t child = static_cast<uint32_t>((i + t) % 3);
        const crypto::Hash32 h = crypto::keccak256(std::to_string(t * 1000 + i));
        const auto who = crypto::recover_address(h, vault.sign_hash(child, h));
        if (!who || crypto::to_checksum_address(*who) != test::kDimoAddresses[child]) ++bad;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad.load(), 0);
}

TEST_F(KeydTest, SignRateThroughKeyd) {
  auto keyd = start_keyd();
  KeydClientVault vault = client();
  constexpr int kN = 2000;
  std::vector<crypto::Hash32> hashes;
  for (int i = 0; i < kN; ++i) hashes.push_back(crypto::keccak256(std::to_string(i)));
  claim_children(vault, 64);
  (void)vault.address(0);
  auto rate = [&](int threads) {
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<std::thread> ts;
    for (int t = 0; t < threads; ++t) {
      ts.emplace_back([&, t] {
        for (int i = t; i < kN; i += threads) (void)vault.sign_hash(i % 64, hashes[i]);
      });
    }
    for (auto& th : ts) th.join();
    return kN / std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  const double one = rate(1);
  const double two = rate(2);
  std::printf("[ rates   ] keyd sign: 1 client thread %.0f/s, 2 client threads %.0f/s\n", one, two);
}

std::string vault_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const VaultError& e) {
    return e.what();
  }
  return "";
}

// keyd answers only for claimed children: it once signed for child 424242, which no connection
// had claimed. A retired child never signs again, and is never claimed again.
TEST_F(KeydTest, SignsOnlyClaimedChildrenAndNeverARetiredOne) {
  auto keyd = start_keyd();
  ASSERT_TRUE(keyd->running()) << test::read_file(keyd->log_file());
  KeydClientVault vault = client();
  const crypto::Hash32 h = crypto::keccak256("unclaimed");
  EXPECT_THAT(vault_error([&] { (void)vault.sign_hash(424242, h); }),
              AllOf(HasSubstr("key child 424242"), HasSubstr("not claimed")));
  EXPECT_THAT(vault_error([&] { (void)vault.address(424242); }), HasSubstr("not claimed"));

  std::vector<std::pair<uint32_t, std::string_view>> claims = {{5, "car-5"}, {6, "car-6"}};
  EXPECT_TRUE(vault.claim_all(claims).empty());
  // A conflicting claim is refused with both parties named; the good one in the batch holds.
  claims = {{5, "intruder"}, {7, "car-7"}};
  const auto refused = vault.claim_all(claims);
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_EQ(refused[0].first, 0u);
  EXPECT_THAT(refused[0].second, AllOf(HasSubstr("'intruder'"), HasSubstr("'car-5'")));
  EXPECT_NO_THROW((void)vault.sign_hash(7, h));
  const auto who = crypto::recover_address(h, vault.sign_hash(5, h));
  ASSERT_TRUE(who.has_value());

  vault.retire(5);
  EXPECT_THAT(vault_error([&] { (void)vault.sign_hash(5, h); }),
              AllOf(HasSubstr("key child 5"), HasSubstr("retired")));
  claims = {{5, "car-5"}};
  ASSERT_EQ(vault.claim_all(claims).size(), 1u);
  // Across a restart too: the registry, not keyd's memory, holds the rule.
  keyd->terminate();
  keyd = start_keyd();
  EXPECT_THAT(vault_error([&] { (void)vault.sign_hash(5, h); }), HasSubstr("retired"));
  EXPECT_NO_THROW((void)vault.sign_hash(6, h));
}

// A batch larger than one request's worth is split, and each part is one transaction.
TEST_F(KeydTest, ClaimsAFleetInBatches) {
  auto keyd = start_keyd();
  KeydClientVault vault = client();
  const uint32_t n = static_cast<uint32_t>(keyd::kMaxClaimsPerRequest) * 2 + 10;
  std::vector<std::string> ids;
  for (uint32_t i = 0; i < n; ++i) ids.push_back("fleet-" + std::to_string(i));
  std::vector<std::pair<uint32_t, std::string_view>> claims;
  for (uint32_t i = 0; i < n; ++i) claims.emplace_back(i + 1, ids[i]);
  claims.back().second = ids[0];  // the last one conflicts with the first
  const auto refused = vault.claim_all(claims);
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_EQ(refused[0].first, n - 1);
  EXPECT_NO_THROW((void)vault.address(n - 1));
  EXPECT_THAT(vault_error([&] { (void)vault.address(n); }), HasSubstr("not claimed"));
}

TEST_F(KeydTest, RefusesAnotherSeedOrAMissingVaultWhileChildrenAreClaimed) {
  {
    auto keyd = start_keyd();
    KeydClientVault vault = client();
    claim_children(vault, 2);
  }
  // Someone "fixes" a lost vault with a fresh seed: every car's address would change.
  {
    test::ScopedEnv env("OEMLINK_TEST_KEK", test::kKekHex);
    const Kek kek = load_kek({.kind = KekSourceConfig::Kind::env, .value = "OEMLINK_TEST_KEK"});
    create_random_vault(vault_, kek, Overwrite::allow);
  }
  auto keyd = start_keyd();
  EXPECT_FALSE(keyd->running());
  EXPECT_THAT(test::read_file(keyd->log_file()),
              AllOf(HasSubstr("is not the one the key children"), HasSubstr(registry_.string()),
                    HasSubstr(test::kDimoAddresses[0]), HasSubstr("Restore")));
  fs::remove(vault_);
  keyd = start_keyd();
  EXPECT_FALSE(keyd->running());
  EXPECT_THAT(test::read_file(keyd->log_file()),
              AllOf(HasSubstr("is missing while 2 key children are claimed"),
                    HasSubstr(test::kDimoAddresses[0]), HasSubstr("from backup")));
}

TEST_F(KeydTest, ClientChecksTheServersUidBeforeSendingAnything) {
  auto keyd = start_keyd();
  KeydClientVault wrong({.socket = socket_, .server_uid = ::getuid() + 1});
  EXPECT_THAT(vault_error([&] { wrong.check_reachable(); }),
              AllOf(HasSubstr("runs as uid " + std::to_string(::getuid())),
                    HasSubstr("expected uid " + std::to_string(::getuid() + 1)),
                    HasSubstr("nothing was sent")));
  KeydClientVault right({.socket = socket_, .server_uid = ::getuid()});
  EXPECT_NO_THROW(right.check_reachable());
}

// The split-uid deployment: keyd runs as root here, the host as uid 65534 (nobody). Exit codes of
// the host-side child: 0 all as expected, 10+ the step that went wrong.
[[noreturn]] void host_side_as_nobody(const fs::path& vault_file, const fs::path& socket) {
  if (::setgid(65534) != 0 || ::setuid(65534) != 0) _exit(2);
  // The seed file is keyd's (0600, root): the host cannot even read it.
  const int fd = ::open(vault_file.c_str(), O_RDONLY);
  if (fd >= 0 || errno != EACCES) _exit(10);
  try {
    KeydClientVault vault({.socket = socket, .server_uid = 0});
    const crypto::Hash32 h = crypto::keccak256("host side");
    try {
      (void)vault.sign_hash(9, h);
      _exit(11);  // signed for a child nobody claimed
    } catch (const VaultError& e) {
      if (std::string(e.what()).find("not claimed") == std::string::npos) _exit(12);
    }
    std::vector<std::pair<uint32_t, std::string_view>> claims = {{1, "car-1"}};
    if (!vault.claim_all(claims).empty()) _exit(13);
    const auto who = crypto::recover_address(h, vault.sign_hash(1, h));
    if (!who || crypto::to_checksum_address(*who) != test::kDimoAddresses[1]) _exit(14);
  } catch (...) {
    _exit(15);
  }
  _exit(0);
}

TEST_F(KeydTest, HostOfAnotherUidCannotReadTheSeedAndGetsOnlyClaimedChildren) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to run the host side as another uid";
  // The operator's part: a socket directory the host uid can traverse.
  fs::permissions(dir_.path(), fs::perms(0711));
  fs::create_directories(socket_.parent_path());
  fs::permissions(socket_.parent_path(), fs::perms(0711));
  auto keyd = start_keyd({"--host-uid", "65534"});
  ASSERT_TRUE(keyd->running()) << test::read_file(keyd->log_file());
  struct stat st {};
  ASSERT_EQ(::stat(vault_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  const pid_t pid = ::fork();
  if (pid == 0) host_side_as_nobody(vault_, socket_);
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << test::read_file(keyd->log_file());
  // keyd's own uid is not the host: with --host-uid it is refused.
  EXPECT_THAT(vault_error([&] { (void)client().address(1); }), Not(HasSubstr("not claimed")));
  keyd->terminate();
  EXPECT_THAT(test::read_file(keyd->log_file()), HasSubstr("refused a client with uid 0"));
}

// The socket path rules, with KeydServer in-process.
TEST_F(KeydTest, ServerRemovesStaleSocketsButNotLiveOnesOrFiles) {
  InProcessVault vault([] {
    LockedBuffer seed(32);
    const auto bytes = test::unhex(test::kDimoSeedHex);
    std::memcpy(seed.data(), bytes.data(), 32);
    return seed;
  }());
  fs::create_directories(socket_.parent_path());
  test::write_file(socket_, "not a socket", 0600);
  try {
    KeydServer s(vault, {.socket = socket_});
    FAIL();
  } catch (const VaultError& e) {
    EXPECT_THAT(e.what(), HasSubstr("is not a socket"));
  }
  EXPECT_TRUE(fs::exists(socket_));
  fs::remove(socket_);

  {
    // A stale socket: bound, then its owner vanished without unlinking it.
    const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, socket_.c_str(), sizeof addr.sun_path - 1);
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ::close(fd);
  }
  auto server = std::make_unique<KeydServer>(vault, KeydServerOptions{.socket = socket_});
  std::thread runner([&] { server->run(); });
  EXPECT_EQ(crypto::to_checksum_address(client().address(0)), test::kDimoAddresses[0]);
  try {
    KeydServer second(vault, {.socket = socket_});
    FAIL();
  } catch (const VaultError& e) {
    EXPECT_THAT(e.what(), HasSubstr("in use by a running process"));
  }
  server->stop();
  runner.join();
  server.reset();
  EXPECT_FALSE(fs::exists(socket_));
}

}  // namespace
}  // namespace oemlink::vault
