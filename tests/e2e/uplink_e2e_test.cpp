// The durable uplink end to end: real `oemlink` processes delivering over mutual TLS to the real
// reference ingest server (tools/ingest-sink), killed with SIGKILL mid-stream, facing outages,
// 400s, a full outbox and a wrong client certificate. A file sink is the witness: it delivers
// from the same outbox at its own cursor, so its lines are the events that entered the outbox.
#include "tests/e2e/cli_fixture.hpp"

#include <boost/json.hpp>

#include <chrono>
#include <random>
#include <set>
#include <thread>

namespace {

using namespace oemlink::testing;
using namespace std::chrono_literals;

const fs::path kIngest = fs::path(OEMLINK_BINARY_DIR) / "oemlink-ingest-sink";

std::multiset<std::string> ids_in(const fs::path& jsonl) {
  std::multiset<std::string> ids;
  std::ifstream in(jsonl);
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    boost::system::error_code ec;
    auto v = boost::json::parse(line, ec);
    if (!ec && v.is_object()) ids.insert(std::string(v.as_object().at("id").as_string()));
  }
  return ids;
}

long rss_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

class UplinkTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    std::string cmd = "bash '" + (kSource / "tools/make-test-pki.sh").string() + "' '" +
                      (dir_ / "pki").string() + "' >/dev/null 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
  }
  void TearDown() override {
    if (ingest_ > 0) {
      kill(ingest_, SIGTERM);
      waitpid(ingest_, nullptr, 0);
    }
    CliTest::TearDown();
  }

  // Starts the reference ingest server on a free port; returns the port.
  int start_ingest(std::vector<std::string> extra = {}, int port = 0) {
    std::vector<std::string> args = {
        "--cert",  "pki/server.crt", "--key",    "pki/server.key",
        "--ca",    "pki/ca.crt",     "--listen", "127.0.0.1:" + std::to_string(port),
        "--store", "ingest.jsonl"};
    args.insert(args.end(), extra.begin(), extra.end());
    fs::remove(dir_ / "ingest.out");
    ingest_ = spawn(args, kIngest, "ingest");
    return listening_port("ingest");
  }
  void stop_ingest() {
    kill(ingest_, SIGTERM);
    waitpid(ingest_, nullptr, 0);
    ingest_ = -1;
  }

  boost::json::object ingest_stats(int port) {
    std::string cmd =
        "curl -s --max-time 5 --cert pki/client.crt --key pki/client.key "
        "--cacert pki/ca.crt https://127.0.0.1:" +
        std::to_string(port) + "/stats > stats.json";
    std::string full = "cd '" + dir_.string() + "' && " + cmd;
    if (std::system(full.c_str()) != 0) return {};
    boost::system::error_code ec;
    auto v = boost::json::parse(slurp(dir_ / "stats.json"), ec);
    return ec || !v.is_object() ? boost::json::object{} : v.as_object();
  }

  fs::path config(int port, int cars, const std::string& interval,
                  const std::string& client = "client", const std::string& outbox = "",
                  bool witness = true) {
    std::string y =
        "data_dir: data\n"
        "logging: {level: info}\n"
        "schedule: {shutdown_timeout: 3s}\n"
        "vault: {create_if_missing: true, kek: {file: data/kek.hex}}\n" +
        (outbox.empty() ? "" : "outbox: " + outbox + "\n") +
        "drivers:\n"
        "  - {name: mock, library: mock, poll_interval: " +
        interval +
        ", max_concurrent_requests: 1000, settings: {seed: 5}}\n"
        "connections:\n";
    for (int i = 1; i <= cars; ++i)
      y += "  - {id: car-" + std::to_string(i) +
           ", driver: mock, vehicle_token_id: " + std::to_string(i) +
           ", synthetic_token_id: " + std::to_string(100 + i) +
           ", key_child: " + std::to_string(i) + "}\n";
    y += "sinks:\n"
         "  - {name: dimo, type: dimo_https, url: \"https://127.0.0.1:" +
         std::to_string(port) + "/\", client_cert: pki/" + client + ".crt, client_key: pki/" +
         client + ".key, ca_file: pki/ca.crt, max_in_flight: 64, timeout: 3s}\n";
    if (witness) y += "  - {name: witness, type: file, path: witness.jsonl}\n";
    return write("oemlink-" + interval + ".yaml", y);
  }

  boost::json::object status(const fs::path& cfg) {
    auto r = run({"status", "--config", cfg.string(), "--json"});
    boost::system::error_code ec;
    auto v = boost::json::parse(r.out, ec);
    return ec || !v.is_object() ? boost::json::object{} : v.as_object();
  }

  pid_t ingest_ = -1;
};

uint64_t u(const boost::json::object& o, const char* k) {
  auto* v = o.if_contains(k);
  if (!v) return 0;
  return v->is_uint64() ? v->as_uint64() : v->is_int64() ? v->as_int64() : 0;
}

TEST_F(UplinkTest, KillNineRepeatedlyLosesNothing) {
  int port = start_ingest();
  auto busy = config(port, 20, "50ms");
  std::mt19937 rng(7);
  size_t seen = 0;
  for (int round = 0; round < 5; ++round) {
    pid_t pid = spawn({"run", "--config", busy.string()}, kExe, "oemlink");
    // Kill once this run has put at least 50 more events into the outbox (its start takes
    // seconds on a loaded or sanitized machine; a fixed delay killed some runs before they
    // polled at all), then at a random moment within the next 500 ms.
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (ids_in(dir_ / "data/witness.jsonl").size() < seen + 50 &&
           std::chrono::steady_clock::now() < give_up)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 500));
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    seen = ids_in(dir_ / "data/witness.jsonl").size();
  }
  // A last, quiet run drains the outbox (hourly polls: hardly any new events).
  // A slow (sanitized, loaded) machine may need more than one 5 s run to drain the backlog.
  auto quiet = config(port, 20, "1h");
  for (int drain = 0; drain < 4; ++drain) {
    auto r = run({"run", "--config", quiet.string(), "--duration", "5s"});
    ASSERT_EQ(r.rc, 0) << r.err;
    auto after = status(quiet);
    if (after.contains("outbox") && u(after.at("outbox").as_object(), "depth") == 0) break;
  }

  auto witness = ids_in(dir_ / "data/witness.jsonl");
  auto received = ids_in(dir_ / "ingest.jsonl");
  std::set<std::string> w(witness.begin(), witness.end()), g(received.begin(), received.end());
  EXPECT_GE(w.size(), 200u) << "too few events to mean anything";
  size_t missing = 0;
  for (auto& id : w)
    if (!g.count(id)) ++missing;
  EXPECT_EQ(missing, 0u) << "events that entered the outbox but never reached the ingest sink";
  for (auto& id : g) EXPECT_TRUE(w.count(id)) << id << " reached ingest but not the witness";
  // Duplicates exist only for deliveries in flight at a kill, and are recognisable by id.
  std::cout << "[ info ] " << w.size() << " events, " << received.size() - g.size()
            << " duplicate deliveries after 5 kills\n";
  // Each kill can repeat at most what was in flight (64 requests) plus the acknowledgements
  // not yet written (one 20 ms batch): not the backlog.
  EXPECT_LE(received.size() - g.size(), 5u * 100);
  auto st = status(quiet);
  ASSERT_TRUE(st.contains("outbox"));
  EXPECT_EQ(u(st.at("outbox").as_object(), "depth"), 0u);
}

TEST_F(UplinkTest, AnIngestOutageDelaysButDeliversEverythingInOrder) {
  int port = start_ingest({"--down-ms", "2500"});
  auto cfg = config(port, 10, "100ms");
  auto r = run({"run", "--config", cfg.string(), "--duration", "5s"});
  ASSERT_EQ(r.rc, 0) << r.err;
  auto st = status(cfg);
  bool retried = false;
  for (auto& s : st.at("sinks").as_array())
    if (s.as_object().at("name") == "dimo") retried = u(s.as_object(), "retried") > 0;
  EXPECT_TRUE(retried);
  // What the back-off had not yet re-sent when that run stopped goes out on the next start.
  auto quiet = config(port, 10, "1h");
  r = run({"run", "--config", quiet.string(), "--duration", "4s"});
  ASSERT_EQ(r.rc, 0) << r.err;
  auto witness = ids_in(dir_ / "data/witness.jsonl");
  auto received = ids_in(dir_ / "ingest.jsonl");
  EXPECT_GE(witness.size(), 100u);
  for (auto& id : witness) EXPECT_TRUE(received.count(id)) << id;
  auto stats = ingest_stats(port);
  EXPECT_GT(u(stats, "down_503"), 0u);
  EXPECT_EQ(u(stats, "order_violations"), 0u);
  EXPECT_EQ(u(stats, "rejected_400"), 0u);
}

TEST_F(UplinkTest, RejectedEventsAreDeadLetteredWithoutBlockingOthersAndCanBeRetried) {
  int port = start_ingest({"--fail-rate-400", "0.25", "--seed", "3"});
  auto cfg = config(port, 8, "100ms");
  auto r = run({"run", "--config", cfg.string(), "--duration", "3s"});
  ASSERT_EQ(r.rc, 0) << r.err;
  auto witness = ids_in(dir_ / "data/witness.jsonl");
  auto received = ids_in(dir_ / "ingest.jsonl");
  auto list = run({"deadletter", "list", "--config", cfg.string(), "--sink", "dimo"});
  ASSERT_EQ(list.rc, 0) << list.err;
  // An undelivered event is a dead letter, or (on a loaded machine, the run ended first) still
  // waiting in the outbox; none vanishes: the second run below must deliver every one of them.
  size_t dead = 0;
  for (auto& id : witness)
    if (!received.count(id) && list.out.find(id) != std::string::npos) ++dead;
  EXPECT_GT(dead, 5u);
  EXPECT_GT(received.size(), dead);  // the others went through meanwhile
  EXPECT_HAS(list.out, "injected");  // the peer's reason is kept

  // The cause is fixed: retry them, run again, and they arrive.
  stop_ingest();
  port = start_ingest({}, port);
  auto retry = run({"deadletter", "retry", "--config", cfg.string()});
  ASSERT_EQ(retry.rc, 0) << retry.err;
  EXPECT_HAS(retry.out, std::to_string(dead) + " dead letters queued again");
  auto quiet = config(port, 8, "1h");
  r = run({"run", "--config", quiet.string(), "--duration", "3s"});
  ASSERT_EQ(r.rc, 0) << r.err;
  received = ids_in(dir_ / "ingest.jsonl");
  for (auto& id : witness) EXPECT_TRUE(received.count(id)) << id;
}

TEST_F(UplinkTest, AFullOutboxBlocksProducersMemoryStaysFlatAndNothingIsPlaintext) {
  // Nothing listens on the sink's port: every delivery fails, the outbox fills to its bound.
  int port = start_ingest();
  stop_ingest();
  auto cfg = config(port, 50, "20ms", "client", "{max_bytes: 1MiB, full_policy: block}",
                    /*witness=*/false);
  pid_t pid = spawn({"run", "--config", cfg.string()}, kExe, "full");
  std::this_thread::sleep_for(2500ms);
  long early = rss_kib(pid);
  std::this_thread::sleep_for(3000ms);
  long late = rss_kib(pid);
  std::string db = slurp(dir_ / "data/outbox.db") + slurp(dir_ / "data/outbox.db-wal");
  kill(pid, SIGTERM);
  auto r = wait_for(pid, "full");
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_GT(early, 0);
  EXPECT_LT(late - early, 8 * 1024) << "RSS grew from " << early << " to " << late << " KiB";
  auto st = status(cfg);
  auto counters = st.at("metrics").as_object();
  EXPECT_GT(u(counters, "oemlink_pipeline_events_backpressured_total"), 0u);
  EXPECT_LE(u(st.at("outbox").as_object(), "bytes"), 2u << 20);
  // Sealed at rest: no reading, signal name or VIN-like text in the outbox files.
  EXPECT_FALSE(db.empty());
  EXPECT_EQ(db.find("powertrainRange"), std::string::npos);
  EXPECT_EQ(db.find("currentLocationCoordinates"), std::string::npos);
  EXPECT_EQ(db.find("did:erc721"), std::string::npos);
}

TEST_F(UplinkTest, AWrongClientCertificateIsNamedAndRefused) {
  int port = start_ingest();
  auto cfg = config(port, 3, "100ms", "rogue-client");
  auto r = run({"run", "--config", cfg.string(), "--duration", "2s"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_HAS(r.err, "pki/rogue-client.crt");
  EXPECT_HAS(r.err, "TLS handshake failed");
  auto stats = ingest_stats(port);
  EXPECT_GT(u(stats, "handshake_failures"), 0u);
  EXPECT_EQ(u(stats, "accepted"), 0u);
  EXPECT_TRUE(ids_in(dir_ / "ingest.jsonl").empty());
}

}  // namespace
