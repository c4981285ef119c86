// `oemlink doctor` as an operator runs it: against a real deployment (a data dir a daemon made,
// the reference ingest server over mutual TLS from tools/make-test-pki.sh), first healthy, then
// broken one item at a time: each failure names the item, and no output ever holds the KEK, the
// admin token or the client key.
#include "tests/e2e/cli_fixture.hpp"

#include <boost/json.hpp>

#include <netinet/in.h>
#include <sys/file.h>
#include <sys/socket.h>

#include <chrono>
#include <thread>

namespace {

using namespace oemlink::testing;
using namespace std::chrono_literals;

const fs::path kIngest = fs::path(OEMLINK_BINARY_DIR) / "oemlink-ingest-sink";
const std::string kKek = "3b1f0c5e9a7d2486b0e4f1a3c5d7e9f1028a4c6e8b0d2f4a6c8e0b2d4f6a8c0e";
const std::string kOtherKek = "c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00";
const std::string kAdminToken = "doctor-test-admin-token-5f2a9c71e3";

int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

struct Row {
  std::string result, detail;
};

class DoctorTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    std::string cmd = "bash '" + (kSource / "tools/make-test-pki.sh").string() + "' '" +
                      (dir_ / "pki").string() + "' >/dev/null 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
    write("kek.hex", kKek + "\n");
    fs::permissions(dir_ / "kek.hex", fs::perms::owner_read | fs::perms::owner_write);
    write("admin.token", kAdminToken + "\n");
    fs::permissions(dir_ / "admin.token", fs::perms::owner_read | fs::perms::owner_write);
    env_["OEMLINK_PLUGIN_PATH"] = OEMLINK_PLUGIN_DIR;
    admin_port_ = free_port();
    ingest_port_ = start_ingest();
  }
  void TearDown() override {
    stop_ingest();
    if (daemon_ > 0) {
      kill(daemon_, SIGKILL);
      waitpid(daemon_, nullptr, 0);
    }
    CliTest::TearDown();
  }

  int start_ingest() {
    std::vector<std::string> args = {"--cert", "pki/server.crt", "--key",    "pki/server.key",
                                     "--ca",   "pki/ca.crt",     "--listen", "127.0.0.1:0"};
    fs::remove(dir_ / "ingest.out");
    ingest_ = spawn(args, kIngest, "ingest");
    return listening_port("ingest");
  }
  void stop_ingest() {
    if (ingest_ <= 0) return;
    kill(ingest_, SIGTERM);
    waitpid(ingest_, nullptr, 0);
    ingest_ = -1;
  }

  // A deployment: the mock driver, a dimo_https sink to the ingest server, a file sink, the
  // admin listener. `data_dir` and `client` vary per test.
  fs::path config(const std::string& client = "client", const std::string& data_dir = "data") {
    return write("oemlink.yaml",
                 "data_dir: " + data_dir +
                     "\n"
                     "schedule: {shutdown_timeout: 3s}\n"
                     "outbox: {max_bytes: 64MiB}\n"
                     "vault: {create_if_missing: true, kek: {file: kek.hex}}\n"
                     "drivers:\n"
                     "  - {name: mock, library: mock, poll_interval: 1s, settings: {seed: 5}}\n"
                     "connections:\n"
                     "  - {id: car-1, driver: mock, vehicle_token_id: 1, synthetic_token_id: 101, "
                     "key_child: 1}\n"
                     "sinks:\n"
                     "  - {name: ingest, type: dimo_https, url: \"https://127.0.0.1:" +
                     std::to_string(ingest_port_) + "/\", client_cert: pki/" + client +
                     ".crt, client_key: pki/" + client +
                     ".key, ca_file: pki/ca.crt, timeout: 3s}\n"
                     "  - {name: witness, type: file, path: witness.jsonl}\n"
                     "listeners:\n"
                     "  admin: {port: " +
                     std::to_string(admin_port_) + ", token: \"${file:admin.token}\"}\n");
  }

  // The vault, the data keys and the stores, as a first run leaves them.
  void first_run(const fs::path& cfg) {
    Result r = run({"run", "--config", cfg.string(), "--duration", "1s"});
    ASSERT_EQ(r.rc, 0) << r.err;
    ASSERT_TRUE(fs::exists(dir_ / "data/vault.sealed"));
    ASSERT_TRUE(fs::exists(dir_ / "data/outbox.key"));
  }

  // Runs doctor twice (table and --json), checks they agree on the exit code and that neither
  // holds a secret, and returns the rows by check name.
  std::map<std::string, Row> doctor(const fs::path& cfg, int expect_rc,
                                    const std::vector<std::string>& prefix = {}) {
    std::vector<std::string> args = {"doctor", "--config", cfg.string()};
    Result table = prefix.empty() ? run(args) : run_with(prefix, args);
    args.push_back("--json");
    Result json = prefix.empty() ? run(args) : run_with(prefix, args);
    EXPECT_EQ(table.rc, expect_rc) << table.out << table.err;
    EXPECT_EQ(json.rc, expect_rc) << json.out << json.err;
    EXPECT_HAS(table.out, "CHECK");
    last_table_ = table.out;
    no_secret_in(table.out + table.err + json.out + json.err);
    std::map<std::string, Row> rows;
    boost::system::error_code ec;
    auto v = boost::json::parse(json.out, ec);
    EXPECT_FALSE(ec) << json.out;
    if (ec) return rows;
    EXPECT_EQ(v.at("ok").as_bool(), expect_rc == 0);
    for (const auto& c : v.at("checks").as_array())
      rows[std::string(c.at("check").as_string())] = {std::string(c.at("result").as_string()),
                                                      std::string(c.at("detail").as_string())};
    return rows;
  }

  // `prefix... oemlink args...` (faketime).
  Result run_with(const std::vector<std::string>& prefix, const std::vector<std::string>& args) {
    std::vector<std::string> all(prefix.begin() + 1, prefix.end());
    all.push_back(kExe.string());
    all.insert(all.end(), args.begin(), args.end());
    fs::remove(dir_ / "stdout");
    fs::remove(dir_ / "stderr");
    return wait_for(spawn(all, prefix.front()));
  }

  void no_secret_in(const std::string& output) {
    for (const std::string& secret : {kKek, kOtherKek, kAdminToken})
      EXPECT_EQ(output.find(secret), std::string::npos) << "a secret in doctor's output";
    // The client key's base64 body, line by line.
    std::istringstream key(slurp(dir_ / "pki/client.key"));
    for (std::string line; std::getline(key, line);) {
      if (line.size() > 20 && line.find("-----") == std::string::npos) {
        EXPECT_EQ(output.find(line), std::string::npos) << "the client key in doctor's output";
      }
    }
  }

  static void expect(const std::map<std::string, Row>& rows, const std::string& check,
                     const std::string& result, const std::string& detail_has = "") {
    auto it = rows.find(check);
    ASSERT_NE(it, rows.end()) << "no row " << check;
    EXPECT_EQ(it->second.result, result) << check << ": " << it->second.detail;
    if (!detail_has.empty()) {
      EXPECT_HAS(it->second.detail, detail_has);
    }
  }

  pid_t ingest_ = -1, daemon_ = -1;
  int ingest_port_ = 0, admin_port_ = 0;
  std::string last_table_;
};

TEST_F(DoctorTest, HealthyDeploymentPassesEveryCheck) {
  fs::path cfg = config();
  first_run(cfg);
  auto rows = doctor(cfg, 0);
  expect(rows, "config", "pass", "valid");
  expect(rows, "data dir", "pass", "mode 0700");
  expect(rows, "vault", "pass", "vault.sealed opens with KEK file");
  expect(rows, "outbox key", "pass", "outbox.key opens");
  expect(rows, "sink ingest: reachable", "pass", "127.0.0.1:" + std::to_string(ingest_port_));
  expect(rows, "sink ingest: TLS", "pass", "verifies against");
  expect(rows, "sink ingest: server certificate", "pass", "expires");
  expect(rows, "sink ingest: client certificate", "pass", "pki/client.crt expires");
  expect(rows, "sink ingest: client certificate accepted", "pass", "answered HTTP");
  expect(rows, "sink witness: directory", "pass", "writable");
  expect(rows, "driver mock", "pass", "loads");
  expect(rows, "clock", "pass", "sink ingest's peer by");
  expect(rows, "listener admin", "pass", "can be bound");
  for (const auto& [check, row] : rows)
    EXPECT_TRUE(row.result == "pass" || row.result == "warn") << check << ": " << row.detail;
  EXPECT_HAS(last_table_, "OK");
}

TEST_F(DoctorTest, WrongKekFailsNamingTheFilesThatDidNotOpen) {
  fs::path cfg = config();
  first_run(cfg);
  write("kek.hex", kOtherKek + "\n");
  auto rows = doctor(cfg, 1);
  expect(rows, "vault", "fail", "vault.sealed");
  expect(rows, "outbox key", "fail", "outbox.key");
  expect(rows, "sink ingest: reachable", "pass");  // the rest still ran
  EXPECT_HAS(last_table_, "FAILED");
}

TEST_F(DoctorTest, ExpiredClientCertificateFailsAndThePeerRefusesIt) {
  fs::path cfg = config("expired-client");
  first_run(cfg);
  auto rows = doctor(cfg, 1);
  expect(rows, "sink ingest: client certificate", "fail", "pki/expired-client.crt expired");
  expect(rows, "sink ingest: client certificate accepted", "fail", "refused");
  expect(rows, "sink ingest: reachable", "pass");
}

TEST_F(DoctorTest, ClientCertificateEndingWithin30DaysWarns) {
  // Signed by the test CA for 10 days: accepted today, due for renewal.
  std::string cmd =
      "cd '" + dir_.string() +
      "/pki' && openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
      "-nodes -keyout soon-client.key -out soon.csr -subj /CN=soon 2>/dev/null && "
      "printf 'basicConstraints=CA:FALSE\\nextendedKeyUsage=clientAuth\\n' > soon.ext && "
      "openssl x509 -req -in soon.csr -CA ca.crt -CAkey ca.key -days 10 "
      "-extfile soon.ext -set_serial 0x1234 -out soon-client.crt 2>/dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  fs::path cfg = config("soon-client");
  first_run(cfg);
  auto rows = doctor(cfg, 0);
  expect(rows, "sink ingest: client certificate", "warn", "in 9 days");
  expect(rows, "sink ingest: client certificate accepted", "pass");
}

TEST_F(DoctorTest, UnreachableSinkFailsNamingIt) {
  fs::path cfg = config();
  first_run(cfg);
  stop_ingest();  // its port is now closed
  auto rows = doctor(cfg, 1);
  expect(rows, "sink ingest: reachable", "fail", "Connection refused");
  expect(rows, "clock", "fail", "no HTTPS answer from sink ingest");
  expect(rows, "vault", "pass");
}

TEST_F(DoctorTest, DataDirThatCannotBeCreatedFails) {
  // Root ignores modes, so a file stands where the data dir's parent should be.
  write("blocker", "not a directory\n");
  fs::path cfg = config("client", "blocker/data");
  auto rows = doctor(cfg, 1);
  expect(rows, "data dir", "fail", "blocker/data does not exist and cannot be created: ");
  expect(rows, "data dir", "fail", "blocker is not a directory");
}

TEST_F(DoctorTest, DataDirThatIsAFileFails) {
  write("datafile", "x\n");
  fs::path cfg = config("client", "datafile");
  auto rows = doctor(cfg, 1);
  expect(rows, "data dir", "fail", "is not a directory");
}

TEST_F(DoctorTest, DataDirOpenToOthersFails) {
  fs::path cfg = config();
  first_run(cfg);
  fs::permissions(dir_ / "data", fs::perms::group_read | fs::perms::group_exec,
                  fs::perm_options::add);
  auto rows = doctor(cfg, 1);
  expect(rows, "data dir", "fail", "mode 0750");
}

TEST_F(DoctorTest, InvalidConfigFailsAndTheRestSaySo) {
  fs::path cfg = write("bad.yaml", "data_dir: data\nsinks: [{name: x, type: nope}]\n");
  auto rows = doctor(cfg, 1);
  expect(rows, "config", "fail", "bad.yaml");
  expect(rows, "data dir", "skip", "the configuration did not load");
  expect(rows, "vault", "skip", "the configuration did not load");
}

TEST_F(DoctorTest, ClockSkewBeyondFiveMinutesFails) {
  if (!fs::exists("/usr/bin/faketime")) GTEST_SKIP() << "faketime is not installed";
#if defined(__SANITIZE_ADDRESS__)
  // libfaketime is an LD_PRELOAD, and ASan insists on its runtime coming first.
  GTEST_SKIP() << "faketime's LD_PRELOAD cannot precede the ASan runtime";
#endif
  fs::path cfg = config();
  first_run(cfg);
  auto rows = doctor(cfg, 1, {"/usr/bin/faketime", "-f", "+10m"});
  expect(rows, "clock", "fail", "ahead of sink ingest's peer by 6");
  // Two minutes behind: a warning, and certificates issued just now are not valid yet.
  rows = doctor(cfg, 1, {"/usr/bin/faketime", "-f", "-2m"});
  expect(rows, "clock", "warn", "behind sink ingest's peer by 1");
  expect(rows, "sink ingest: TLS", "fail", "not yet valid");
}

TEST_F(DoctorTest, BesideTheRunningDaemonItSkipsItsListenersAndTakesNoLock) {
  fs::path cfg = config();
  first_run(cfg);
  daemon_ = spawn({"run", "--config", cfg.string()}, kExe, "daemon");
  // Up once it holds the data-dir lock and its admin port answers.
  bool up = false;
  for (int i = 0; i < 3000 && !up; ++i) {
    int fd = ::open((dir_ / "data/oemlink.lock").c_str(), O_RDONLY);
    bool locked = fd >= 0 && flock(fd, LOCK_SH | LOCK_NB) != 0;
    if (fd >= 0) close(fd);
    if (locked) {
      int s = socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_port = htons(static_cast<uint16_t>(admin_port_));
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      up = connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
      close(s);
    }
    if (!up) std::this_thread::sleep_for(10ms);
  }
  ASSERT_TRUE(up) << slurp(dir_ / "daemon.err");
  auto rows = doctor(cfg, 0);
  expect(rows, "listener admin", "skip",
         "in use by the running daemon (pid " + std::to_string(daemon_) + ")");
  expect(rows, "data dir", "pass", "held by the running daemon");
  expect(rows, "outbox key", "pass");
  EXPECT_EQ(waitpid(daemon_, nullptr, WNOHANG), 0) << "the daemon must still run";
}

TEST_F(DoctorTest, ListenerPortTakenByAnotherProcessFails) {
  fs::path cfg = config();
  first_run(cfg);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(admin_port_));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(listen(fd, 1), 0);
  auto rows = doctor(cfg, 1);
  close(fd);
  expect(rows, "listener admin", "fail", "Address already in use");
}

TEST_F(DoctorTest, UsageErrorExitsTwo) {
  EXPECT_EQ(run({"doctor", "--no-such-option"}).rc, 2);
}

}  // namespace
