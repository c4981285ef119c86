// `oemlink secrets set|list` as an operator runs them: the value comes from a file or stdin, is
// never printed, lands encrypted where the driver serving the connection reads it (SecretAccess,
// what secret_get calls), and `set` refuses while a daemon holds the data dir.
#include "core/config/config.hpp"
#include "core/host/data_dir_lock.hpp"
#include "core/host/data_keys.hpp"
#include "core/host/secret_access.hpp"
#include "tests/e2e/cli_fixture.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <regex>
#include <sstream>

namespace oemlink::testing {
namespace {

// Distinctive, so a grep of the data dir or of the output cannot hit anything else.
const std::string kRefresh = "EU.rt-5f1c9a7e0b2d4c68a1f3e5d7b9c0a2e4-do-not-print";
const std::string kAccess = "eyJhbGciOi.access-4b6d8f0a2c4e6a8b-do-not-print";

class SecretsCliTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    // A fixed KEK in a 0600 file, as an operator would provision it.
    write("kek.hex", std::string(64, 'a') + "\n");
    fs::permissions(dir_ / "kek.hex", fs::perms::owner_read | fs::perms::owner_write);
    cfg_ = write("oemlink.yaml",
                 "data_dir: data\n"
                 "vault: {create_if_missing: true, kek: {file: kek.hex}}\n"
                 "drivers:\n"
                 "  - {name: tesla, library: mock}\n"
                 "connections:\n"
                 "  - {id: model3-lisa, driver: tesla, key_child: 1}\n"
                 "  - {id: model3-tom, driver: tesla, key_child: 2}\n")
               .string();
  }
  // Runs with stdin from `input` (a file written for the purpose).
  Result run_with_stdin(const std::vector<std::string>& args, const std::string& input) {
    fs::path in = write("stdin.txt", input);
    in_child_ = [in] {
      int fd = ::open(in.c_str(), O_RDONLY);
      ::dup2(fd, 0);
    };
    Result r = run(args);
    in_child_ = nullptr;
    fs::remove(in);
    return r;
  }
  // What the driver serving `conn` reads through secret_get.
  std::string driver_reads(const std::string& conn, const std::string& key) {
    config::Config cfg = config::load_config_file(cfg_);
    host::SecretAccess access([&cfg] {
      const LockedDataKey k = host::open_sealed_data_key(cfg, host::DataKeyPurpose::secrets);
      return std::make_unique<store::SecretStore>(DataDir(cfg.data_dir).secrets_db(), k.get());
    });
    char buf[4096];
    size_t size = 0;
    oemlink_status st = access.get(host::SecretAccess::connection_owner("tesla", conn), key, buf,
                                   sizeof buf, &size);
    return st == OEMLINK_OK ? std::string(buf, size) : "<status " + std::to_string(st) + ">";
  }
  void expect_never_printed(const Result& r) {
    for (const std::string& secret : {kRefresh, kAccess}) {
      EXPECT_EQ(r.out.find(secret), std::string::npos) << r.out;
      EXPECT_EQ(r.err.find(secret), std::string::npos) << r.err;
    }
  }
  std::string cfg_;
};

TEST_F(SecretsCliTest, SetFromAFileOrStdinAndTheDriverReadsItBack) {
  fs::path file = write("rt.txt", kRefresh + "\n");
  Result set = run({"secrets", "set", "model3-lisa", "refresh_token", "--file", file.string(),
                    "--config", cfg_});
  ASSERT_EQ(set.rc, 0) << set.err;
  EXPECT_HAS(set.out, "stored refresh_token for connection model3-lisa (driver tesla)");
  expect_never_printed(set);

  Result piped =
      run_with_stdin({"secrets", "set", "model3-lisa", "access_token", "-c", cfg_}, kAccess);
  ASSERT_EQ(piped.rc, 0) << piped.err;
  expect_never_printed(piped);
  Result dash = run_with_stdin(
      {"secrets", "set", "model3-tom", "refresh_token", "--file", "-", "-c", cfg_}, "tom\r\n");
  ASSERT_EQ(dash.rc, 0) << dash.err;

  EXPECT_EQ(driver_reads("model3-lisa", "refresh_token"), kRefresh) << "one newline stripped";
  EXPECT_EQ(driver_reads("model3-lisa", "access_token"), kAccess);
  EXPECT_EQ(driver_reads("model3-tom", "refresh_token"), "tom");

  // Nothing in the data dir holds the plaintext (the store is sealed under the data key).
  for (const auto& entry : fs::recursive_directory_iterator(dir_ / "data")) {
    if (!entry.is_regular_file()) continue;
    std::string bytes = slurp(entry.path());
    EXPECT_EQ(bytes.find("rt-5f1c9a7e0b2d4c68"), std::string::npos) << entry.path();
    EXPECT_EQ(bytes.find("access-4b6d8f0a2c4e6a8b"), std::string::npos) << entry.path();
  }
}

// A first development deployment (vault.create_if_missing, no KEK yet) seeds its first token
// before its first run, as the driver READMEs say: `set` creates the KEK as `run` would, and the
// run that follows opens the same vault and reads the token back.
TEST_F(SecretsCliTest, SetBeforeTheFirstRunCreatesTheKekAsRunWould) {
  fs::remove(dir_ / "kek.hex");
  fs::path file = write("rt.txt", kRefresh);
  Result set = run({"secrets", "set", "model3-lisa", "refresh_token", "--file", file.string(),
                    "--config", cfg_});
  ASSERT_EQ(set.rc, 0) << set.err;
  EXPECT_TRUE(fs::exists(dir_ / "kek.hex")) << set.err;
  EXPECT_TRUE(fs::exists(dir_ / "data/vault.sealed")) << set.err;
  expect_never_printed(set);
  EXPECT_EQ(driver_reads("model3-lisa", "refresh_token"), kRefresh);
  Result first_run = run({"run", "--config", cfg_, "--duration", "1s"});
  EXPECT_EQ(first_run.rc, 0) << first_run.err;
  EXPECT_EQ(driver_reads("model3-lisa", "refresh_token"), kRefresh);
}

TEST_F(SecretsCliTest, ListShowsNamesAndTimesNeverValues) {
  Result empty = run({"secrets", "list", "model3-lisa", "--config", cfg_});
  ASSERT_EQ(empty.rc, 0) << empty.err;
  EXPECT_HAS(empty.out, "0 secret(s) for connection model3-lisa (driver tesla)");
  EXPECT_FALSE(fs::exists(dir_ / "data/secrets.db")) << "listing created the store";

  ASSERT_EQ(
      run_with_stdin({"secrets", "set", "model3-lisa", "refresh_token", "-c", cfg_}, kRefresh).rc,
      0);
  ASSERT_EQ(
      run_with_stdin({"secrets", "set", "model3-lisa", "access_token", "-c", cfg_}, kAccess).rc, 0);
  Result list = run({"secrets", "list", "model3-lisa", "--config", cfg_});
  ASSERT_EQ(list.rc, 0) << list.err;
  expect_never_printed(list);
  std::regex row(R"(^(access_token|refresh_token) +\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$)");
  std::istringstream lines(list.out);
  std::vector<std::string> names;
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (std::regex_match(line, m, row)) names.push_back(m[1]);
  }
  EXPECT_EQ(names, (std::vector<std::string>{"access_token", "refresh_token"})) << list.out;
  EXPECT_HAS(list.out, "2 secret(s) for connection model3-lisa (driver tesla)");
  Result other = run({"secrets", "list", "model3-tom", "--config", cfg_});
  EXPECT_HAS(other.out, "0 secret(s) for connection model3-tom");
}

TEST_F(SecretsCliTest, AnUnknownConnectionIsNamedWithTheCloseIds) {
  Result r =
      run_with_stdin({"secrets", "set", "model3-lise", "refresh_token", "-c", cfg_}, kRefresh);
  EXPECT_EQ(r.rc, 1);
  EXPECT_HAS(r.err, "no connection \"model3-lise\" in");
  EXPECT_HAS(r.err, "(did you mean \"model3-lisa\"");
  EXPECT_HAS(r.err, "oemlink.yaml");
  expect_never_printed(r);
  Result l = run({"secrets", "list", "nope", "-c", cfg_});
  EXPECT_EQ(l.rc, 1);
  EXPECT_HAS(l.err, "no connection \"nope\" in");
  EXPECT_EQ(l.err.find("did you mean"), std::string::npos) << "nothing close to suggest";
}

TEST_F(SecretsCliTest, EmptyOversizedAndUnreadableValuesAreRefused) {
  Result empty =
      run_with_stdin({"secrets", "set", "model3-lisa", "refresh_token", "-c", cfg_}, "\n");
  EXPECT_EQ(empty.rc, 1);
  EXPECT_HAS(empty.err, "the value read from standard input is empty");
  fs::path big = write("big.txt", std::string(64 * 1024 + 1, 'x'));
  Result large =
      run({"secrets", "set", "model3-lisa", "refresh_token", "--file", big.string(), "-c", cfg_});
  EXPECT_EQ(large.rc, 1);
  EXPECT_HAS(large.err, "larger than 65536 bytes");
  Result missing = run({"secrets", "set", "model3-lisa", "refresh_token", "--file",
                        (dir_ / "nope.txt").string(), "-c", cfg_});
  EXPECT_EQ(missing.rc, 1);
  EXPECT_HAS(missing.err, "cannot open " + (dir_ / "nope.txt").string());
  Result badkey =
      run_with_stdin({"secrets", "set", "model3-lisa", "refresh token", "-c", cfg_}, kRefresh);
  EXPECT_EQ(badkey.rc, 1);
  EXPECT_HAS(badkey.err, "key name \"refresh token\" must be");
  expect_never_printed(badkey);
  EXPECT_EQ(driver_reads("model3-lisa", "refresh_token"),
            "<status " + std::to_string(OEMLINK_ERROR) + ">")
      << "nothing was stored";
}

TEST_F(SecretsCliTest, SetRefusesWhileTheDaemonHoldsTheDataDirAndListStillWorks) {
  ASSERT_EQ(
      run_with_stdin({"secrets", "set", "model3-lisa", "refresh_token", "-c", cfg_}, kRefresh).rc,
      0);
  // This test process stands in for the daemon: it holds the data dir's lock as `run` does.
  host::DataDirLock daemon(DataDir(dir_ / "data"), "oemlink run");
  Result set = run_with_stdin({"secrets", "set", "model3-lisa", "refresh_token", "-c", cfg_},
                              "rt-rotated-behind-the-daemon");
  EXPECT_EQ(set.rc, 1);
  EXPECT_HAS(set.err, "in use by oemlink pid " + std::to_string(getpid()));
  EXPECT_HAS(set.err, "stop it first");
  EXPECT_EQ(driver_reads("model3-lisa", "refresh_token"), kRefresh) << "unchanged";
  Result list = run({"secrets", "list", "model3-lisa", "-c", cfg_});
  EXPECT_EQ(list.rc, 0) << list.err;
  EXPECT_HAS(list.out, "1 secret(s)");
}

}  // namespace
}  // namespace oemlink::testing
