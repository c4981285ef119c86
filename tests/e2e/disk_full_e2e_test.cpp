// A full data disk, end to end (issue 17, "Disk full"): the real `oemlink run` with its data dir
// on a small tmpfs delivers to the reference ingest server (mutual TLS) and to a file sink, the
// witness of every event the outbox committed (the sinks deliver from the outbox only). The
// ingest is paused (SIGSTOP) so the outbox must grow, and a filler file takes the rest of the
// tmpfs: commits fail, producers wait, `/readyz` and `oemlink status` say the outbox is not
// writable. SIGTERM then stops the daemon within shutdown_timeout, saying what it gave up; with
// the space back and the ingest resumed, a quiet run drains the outbox and every event the witness
// saw has reached the ingest.
#include "tests/common/disk_full.hpp"
#include "tests/e2e/cli_fixture.hpp"

#include <boost/json.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <set>
#include <thread>

namespace {

using namespace oemlink::testing;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr int kShutdownTimeoutMs = 3000;

std::set<std::string> ids_in(const fs::path& jsonl) {
  std::set<std::string> ids;
  std::ifstream in(jsonl);
  for (std::string line; std::getline(in, line);) {
    boost::system::error_code ec;
    auto v = boost::json::parse(line, ec);
    if (ec || !v.is_object() || !v.as_object().contains("id")) continue;  // still being written
    ids.insert(std::string(v.as_object().at("id").as_string()));
  }
  return ids;
}

uint16_t free_port() {
  int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
  ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(s);
  return ntohs(a.sin_port);
}

// GET `target` on 127.0.0.1:port, HTTP/1.0: the whole answer, "" when nothing answered.
std::string http_get(uint16_t port, const std::string& target) {
  int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  timeval tv{2, 0};
  ::setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  std::string out;
  if (::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    std::string req = "GET " + target + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (::send(s, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size())) {
      char buf[4096];
      for (ssize_t n; (n = ::recv(s, buf, sizeof buf, 0)) > 0;) out.append(buf, n);
    }
  }
  ::close(s);
  return out;
}

class DiskFullTest : public CliTest {
 protected:
  void TearDown() override {
    if (daemon_ > 0) {
      kill(daemon_, SIGKILL);
      waitpid(daemon_, nullptr, 0);
    }
    if (ingest_ > 0) {
      kill(ingest_, SIGCONT);
      kill(ingest_, SIGTERM);
      waitpid(ingest_, nullptr, 0);
    }
    tmpfs_.reset();  // unmounted before the scratch directory goes
    CliTest::TearDown();
  }

  int start_ingest() { return start_reference_ingest(ingest_); }

  // The mock driver's cars polled every `interval`; the data dir on the tmpfs, everything else
  // (the KEK, the witness, the TLS files) beside the config.
  void write_config(const std::string& interval) {
    std::string y = "data_dir: " + data_dir().string() +
                    "\n"
                    "logging: {level: info}\n"
                    "schedule: {shutdown_timeout: " +
                    std::to_string(kShutdownTimeoutMs / 1000) +
                    "s}\n"
                    "vault: {create_if_missing: true, kek: {file: " +
                    (dir_ / "kek.hex").string() +
                    "}}\n"
                    "drivers:\n"
                    "  - {name: mock, library: mock, poll_interval: " +
                    interval +
                    ", max_concurrent_requests: 100, settings: {seed: 5, asleep_rate: 0, "
                    "error_rate: 0}}\n"
                    "connections:\n";
    for (int n = 1; n <= 5; ++n)
      y += "  - {id: car-" + std::to_string(n) +
           ", driver: mock, vehicle_token_id: " + std::to_string(1000 + n) +
           ", key_child: " + std::to_string(n) + "}\n";
    y += "sinks:\n"
         "  - {name: dimo, type: dimo_https, url: \"https://127.0.0.1:" +
         std::to_string(ingest_port_) +
         "/\", client_cert: pki/client.crt, client_key: pki/client.key, ca_file: pki/ca.crt, "
         "timeout: 2s}\n"
         "  - {name: witness, type: file, path: " +
         (dir_ / "witness.jsonl").string() +
         "}\n"
         "listeners:\n  operations: {port: " +
         std::to_string(ops_port_) + "}\n";
    write("oemlink.yaml", y);
  }

  fs::path data_dir() const { return tmpfs_->path / "data"; }

  boost::json::object status() {
    boost::system::error_code ec;
    auto v = boost::json::parse(slurp(data_dir() / "status.json"), ec);
    return ec || !v.is_object() ? boost::json::object{} : v.as_object();
  }
  boost::json::object outbox_status() {
    auto st = status();
    return st.contains("outbox") ? st.at("outbox").as_object() : boost::json::object{};
  }

  void start_daemon() {
    daemon_ = spawn({"run", "--config", "oemlink.yaml"}, kExe, "oemlink");
    ASSERT_TRUE(eventually(
        [&] {
          auto st = status();
          return st.contains("running") && st.at("running").as_bool() &&
                 st.at("pid").to_number<int64_t>() == daemon_;
        },
        30s))
        << slurp(dir_ / "oemlink.err");
  }

  size_t witnessed() { return ids_in(dir_ / "witness.jsonl").size(); }

  // oemlink_pipeline_events_backpressured_total from /metrics; -1 when absent.
  double backpressured() {
    const std::string m = http_get(ops_port_, "/metrics");
    const std::string family = "\noemlink_pipeline_events_backpressured_total ";
    const size_t at = m.find(family);
    return at == std::string::npos ? -1 : std::stod(m.substr(at + family.size()));
  }

  std::unique_ptr<SmallTmpfs> tmpfs_;
  pid_t daemon_ = -1;
  pid_t ingest_ = -1;
  int ingest_port_ = 0;
  uint16_t ops_port_ = 0;
};

TEST_F(DiskFullTest, BlocksWithoutLossStopsInTimeAndDeliversEverythingOnceSpaceReturns) {
  tmpfs_ = std::make_unique<SmallTmpfs>("4m");
  if (!tmpfs_->mounted()) GTEST_SKIP() << tmpfs_->skip_reason;
  ingest_port_ = start_ingest();
  ASSERT_NE(ingest_port_, 0);
  ops_port_ = free_port();
  write_config("50ms");
  start_daemon();
  ASSERT_TRUE(eventually([&] { return witnessed() >= 50; }, 30s)) << slurp(dir_ / "oemlink.err");

  // The ingest stops answering, so the outbox must grow; the filler takes the space it needs.
  ASSERT_EQ(kill(ingest_, SIGSTOP), 0);
  const size_t filled = tmpfs_->fill(tmpfs_->path / "filler");
  ASSERT_GT(filled, 0u);
  ASSERT_TRUE(eventually(
      [&] {
        auto o = outbox_status();
        return o.contains("commit_failing") && o.at("commit_failing").as_bool();
      },
      60s))
      << "commits never failed with the tmpfs full; status: " << boost::json::serialize(status())
      << "\n"
      << slurp(dir_ / "oemlink.err");

  // Unwritable, with the reason: readiness, `oemlink status` and its --json.
  const std::string ready = http_get(ops_port_, "/readyz");
  EXPECT_HAS(ready, " 503 ");
  EXPECT_HAS(ready, "\"check\":\"outbox\"");
  EXPECT_HAS(ready, "commits failing");
  Result human = run({"status", "--config", "oemlink.yaml"});
  EXPECT_EQ(human.rc, 0) << human.err;
  EXPECT_HAS(human.out, "outbox:      NOT WRITABLE");
  EXPECT_HAS(human.out, "full");  // SQLite's "database or disk is full"
  Result json = run({"status", "--config", "oemlink.yaml", "--json"});
  EXPECT_HAS(json.out, "\"commit_failing\":true");

  // Producers wait: every emit is refused while commits fail (the drivers keep their readings),
  // counted as back-pressure, and nothing more is committed, so the witness sees nothing new.
  const double refused_before = backpressured();
  EXPECT_TRUE(eventually([&] { return backpressured() > refused_before; }, 10s))
      << "no emit was refused while commits fail";
  std::this_thread::sleep_for(1s);
  const size_t blocked_at = witnessed();
  std::this_thread::sleep_for(2s);
  EXPECT_EQ(witnessed(), blocked_at) << "events were committed while every commit fails?";

  // SIGTERM: out within shutdown_timeout (plus a margin for the last status write and exit),
  // exit code 0, saying what it gave up and why that is safe.
  const auto t0 = Clock::now();
  ASSERT_EQ(kill(daemon_, SIGTERM), 0);
  Result stopped = wait_for(daemon_, "oemlink");
  daemon_ = -1;
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0);
  std::cout << "[ info ] stopped " << took.count() << " ms after SIGTERM (shutdown_timeout "
            << kShutdownTimeoutMs << " ms), filler " << filled / 1024 << " KiB\n";
  EXPECT_LT(took.count(), kShutdownTimeoutMs + 2500) << stopped.err;
  EXPECT_EQ(stopped.rc, 0) << stopped.err;
  if (auto at = stopped.err.find("stopping with "); at != std::string::npos)
    std::cout << "[ info ] " << stopped.err.substr(at, stopped.err.find('\n', at) - at) << "\n";
  EXPECT_HAS(stopped.err, "stopping with ");
  EXPECT_HAS(stopped.err, "events not committed (outbox: ");
  EXPECT_HAS(stopped.err,
             "polls never completed will be polled again; streams were refused (and kept their "
             "readings) while commits failed");

  // Space back, ingest back: a quiet run (hourly polls) drains the outbox.
  fs::remove(tmpfs_->path / "filler");
  ASSERT_EQ(kill(ingest_, SIGCONT), 0);
  write_config("1h");
  start_daemon();
  ASSERT_TRUE(eventually(
      [&] {
        auto o = outbox_status();
        return o.contains("depth") && o.at("depth").to_number<uint64_t>() == 0 &&
               !o.at("commit_failing").as_bool();
      },
      90s))
      << boost::json::serialize(status()) << "\n"
      << slurp(dir_ / "oemlink.err");
  ASSERT_EQ(kill(daemon_, SIGTERM), 0);
  Result quiet = wait_for(daemon_, "oemlink");
  daemon_ = -1;
  EXPECT_EQ(quiet.rc, 0) << quiet.err;

  const std::set<std::string> witness = ids_in(dir_ / "witness.jsonl");
  const std::set<std::string> received = ids_in(dir_ / "ingest.jsonl");
  size_t missing = 0;
  for (const auto& id : witness) missing += received.count(id) ? 0 : 1;
  std::cout << "[ info ] " << witness.size() << " events committed, " << received.size()
            << " distinct at the ingest\n";
  EXPECT_GE(witness.size(), 50u);
  EXPECT_EQ(missing, 0u) << "of " << witness.size()
                         << " events that were committed, these never reached the ingest";
}

}  // namespace
