// Start-up from the connection store: the YAML is reconciled into <data_dir>/connections.db and
// the daemon serves what the store holds, each row in its stored state. Real mock driver, real
// vault and key-child registry, real store; each test restarts the Runtime on one data dir.
#include "core/common/data_dir.hpp"
#include "core/config/config_error.hpp"
#include "core/host/runtime.hpp"
#include "core/store/connection_store.hpp"

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>

namespace oemlink::host {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// Events per vehicle token id (the last part of the CloudEvent subject).
struct CountingSink : pipeline::EventSink {
  std::mutex mu;
  std::map<uint64_t, size_t> by_token;
  std::string_view name() const override { return "counting"; }
  bool append(const pipeline::Event& e) override {
    auto v = boost::json::parse(e.json).as_object();
    std::string subject(v.at("subject").as_string());
    std::lock_guard lock(mu);
    ++by_token[std::stoull(subject.substr(subject.rfind(':') + 1))];
    return true;
  }
  void flush() override {}
  size_t events_of(uint64_t token) {
    std::lock_guard lock(mu);
    auto it = by_token.find(token);
    return it == by_token.end() ? 0 : it->second;
  }
};

class StoredConnectionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("oemlink-stored-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Connection "car-<n>" has vehicle token n and key child n.
  config::Config make_config(const std::vector<int>& cars) {
    std::string y = "data_dir: " + dir_.string() +
                    "\nvault: {create_if_missing: true, kek: {file: " + (dir_ / "kek").string() +
                    "}}\nschedule: {shutdown_timeout: 5s}\ndrivers:\n"
                    "  - {name: mock, library: mock, poll_interval: 50ms}\nconnections:\n";
    if (cars.empty()) y += "  []\n";
    for (int n : cars) {
      y += "  - {id: car-" + std::to_string(n) + ", driver: mock, vin: 5YJ3E1EA7KF" +
           std::to_string(100000 + n) + ", vehicle_token_id: " + std::to_string(n) +
           ", synthetic_token_id: " + std::to_string(1000 + n) +
           ", key_child: " + std::to_string(n) + "}\n";
    }
    return config::load_config_text(y, "<test>", dir_);
  }

  // Runs the daemon on `cars` for `run_for`; returns what the run saw.
  struct RunResult {
    std::map<std::string, schedule::Phase> phase;  // by connection id
    std::map<uint64_t, size_t> events;             // by vehicle token id
    uint64_t open_failed = 0;
  };
  RunResult run(const std::vector<int>& cars, std::chrono::milliseconds run_for = 800ms) {
    CountingSink sink;
    RuntimeOptions o = default_runtime_options();
    o.plugin_dirs = {OEMLINK_PLUGIN_DIR};
    o.handle_signals = false;
    o.extra_sinks = {&sink};
    o.stats_interval = 0ms;
    o.duration = run_for;
    Runtime rt(make_config(cars), o);
    rt.start();
    EXPECT_EQ(rt.run(), 0);
    RunResult r;
    for (uint32_t c = 0; c < rt.connection_count(); ++c)
      r.phase[rt.connection(c).id] = rt.connection_phase(c);
    std::lock_guard lock(sink.mu);
    r.events = sink.by_token;
    r.open_failed = rt.metrics().total("oemlink_connections_open_failed_total");
    return r;
  }

  std::unique_ptr<store::ConnectionStore> open_store() {
    return std::make_unique<store::ConnectionStore>(DataDir(dir_).connections_db());
  }

  fs::path dir_;
};

TEST_F(StoredConnectionsTest, PausedInTheStoreIsNotPolledAfterRestartTheOthersAre) {
  RunResult first = run({1, 2, 3, 4});
  for (int n : {1, 2, 3, 4}) EXPECT_GT(first.events[n], 0u) << n;
  {
    auto s = open_store();
    EXPECT_EQ(s->count("active"), 4u);
    ASSERT_TRUE(s->set_state("car-2", "paused", "operator", 1));
  }
  RunResult second = run({1, 2, 3, 4});
  EXPECT_EQ(second.events[2], 0u);
  for (int n : {1, 3, 4}) EXPECT_GT(second.events[n], 0u) << n;
  // Paused: a table slot (its index is kept) but never scheduled.
  ASSERT_EQ(second.phase.size(), 4u);
  EXPECT_EQ(second.phase["car-2"], schedule::Phase::stopped);
  EXPECT_NE(second.phase["car-1"], schedule::Phase::stopped);
  EXPECT_EQ(second.open_failed, 0u);
  // The YAML, unchanged, did not make it active again.
  EXPECT_EQ(open_store()->get("car-2")->state, "paused");
}

TEST_F(StoredConnectionsTest, RemovedFromTheYamlRowGoesKeyChildStaysClaimed) {
  run({1, 2, 3}, 300ms);
  RunResult second = run({1, 3}, 300ms);
  EXPECT_EQ(second.phase.size(), 2u);
  EXPECT_EQ(second.events.count(2), 0u);
  EXPECT_FALSE(open_store()->get("car-2"));
  EXPECT_EQ(open_store()->count(), 2u);
  // Key child 2 still belongs to car-2 in the vault's registry: a new connection given it is
  // stored, but never signs.
  {
    auto cfg = make_config({1, 3});
    config::ConnectionConfig thief = cfg.connections[0];
    thief.id = "car-thief";
    thief.vin = "5YJ3E1EA7KF999999";
    thief.key_child = 2;
    thief.vehicle_token_id = 99;
    cfg.connections.push_back(thief);
    CountingSink sink;
    RuntimeOptions o = default_runtime_options();
    o.plugin_dirs = {OEMLINK_PLUGIN_DIR};
    o.handle_signals = false;
    o.extra_sinks = {&sink};
    o.stats_interval = 0ms;
    o.duration = 500ms;
    Runtime rt(std::move(cfg), o);
    rt.start();
    EXPECT_EQ(rt.run(), 0);
    EXPECT_EQ(rt.metrics().total("oemlink_connections_open_failed_total"), 1u);
    EXPECT_EQ(sink.events_of(99), 0u);
    EXPECT_GT(sink.events_of(1), 0u);
  }
}

TEST_F(StoredConnectionsTest, ServesStoredRowsTheYamlDoesNotListInTheirStates) {
  {
    auto s = open_store();
    auto row = [](std::string id, uint32_t n, std::string state) {
      store::StoredConnection r;
      r.id = std::move(id);
      r.driver = "mock";
      r.vehicle_id = "veh-" + std::to_string(n);
      r.vin = "5YJ3E1EA7KF2000" + std::to_string(10 + n);
      r.vehicle_token_id = n;
      r.key_child = n;
      r.state = std::move(state);
      r.source = "api";
      return r;
    };
    std::vector<store::StoredConnection> rows{
        row("api-active", 11, "active"),   row("api-reauth", 12, "needs_reauth"),
        row("api-paused", 13, "paused"),   row("api-revoked", 14, "revoked"),
        row("api-linking", 15, "linking"), row("api-gone-driver", 16, "active"),
    };
    rows.back().driver = "tesla-old";  // an instance no longer configured
    rows.push_back(row("api-slow", 17, "active"));
    rows.back().poll_interval_ms = 600'000;  // the stored override beats the driver's 50 ms
    ASSERT_EQ(s->insert(rows), std::vector<std::string>(rows.size()));
  }
  RunResult r = run({1});
  EXPECT_GT(r.events[1], 0u);
  EXPECT_GT(r.events[11], 0u);
  EXPECT_GT(r.events[12], 0u);  // needs_reauth is opened: the tokens may have been fixed offline
  EXPECT_EQ(r.events[13], 0u);
  EXPECT_EQ(r.events[14], 0u);
  EXPECT_EQ(r.events[15], 0u);
  EXPECT_EQ(r.events[16], 0u);
  EXPECT_GE(r.events[11], 4u);
  EXPECT_LE(r.events[17], 1u);
  // Revoked rows, rows of an unknown driver and adds a crash interrupted ("linking": a row whose
  // secrets may not all be stored) get no slot; paused ones do.
  EXPECT_EQ(r.phase.size(), 5u);
  EXPECT_EQ(r.phase.count("api-revoked"), 0u);
  EXPECT_EQ(r.phase.count("api-gone-driver"), 0u);
  EXPECT_EQ(r.phase.count("api-linking"), 0u);
  EXPECT_EQ(r.phase["api-paused"], schedule::Phase::stopped);
  EXPECT_EQ(r.open_failed, 2u);  // the unknown driver's and the interrupted add
  // The interrupted add is taken back for good: revoked, with the reason.
  auto linking = open_store()->get("api-linking");
  ASSERT_TRUE(linking);
  EXPECT_EQ(linking->state, "revoked");
  EXPECT_NE(linking->reason.find("interrupted while being added"), std::string::npos);
  // The API row survives the YAML's reconcile (only "config" rows are the YAML's).
  EXPECT_EQ(open_store()->count(), 8u);
}

TEST_F(StoredConnectionsTest, YamlConnectionWithARevokedRowIsRefusedTheOthersRun) {
  run({1, 2}, 300ms);
  ASSERT_TRUE(open_store()->set_state("car-1", "revoked", "owner left", 1));
  RunResult r = run({1, 2}, 500ms);
  EXPECT_EQ(r.events[1], 0u);
  EXPECT_GT(r.events[2], 0u);
  EXPECT_EQ(r.phase.count("car-1"), 0u);
  EXPECT_EQ(r.open_failed, 1u);
}

TEST_F(StoredConnectionsTest, UnreadableStoreStopsTheStartNamingTheFile) {
  fs::create_directories(dir_);
  {
    std::ofstream out(DataDir(dir_).connections_db(), std::ios::binary);
    out << std::string(4096, 'z');
  }
  RuntimeOptions o = default_runtime_options();
  o.plugin_dirs = {OEMLINK_PLUGIN_DIR};
  o.handle_signals = false;
  Runtime rt(make_config({1}), o);
  try {
    rt.start();
    FAIL() << "started on a corrupt connection store";
  } catch (const StartupError& e) {
    EXPECT_NE(std::string(e.what()).find(DataDir(dir_).connections_db().string()),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace oemlink::host
