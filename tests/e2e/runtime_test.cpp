// The host end to end: real driver libraries loaded from disk, the real scheduler on the Asio
// loop, the pipeline, and a recording sink. Time is real but short; assertions are on counts and
// content, never on sleeps.
#include "core/host/runtime.hpp"
#include "core/config/config_error.hpp"
#include "tests/net/listener_fixture.hpp"

#include "tests/net/test_server.hpp"

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <thread>

#include <sys/wait.h>

namespace oemlink::host {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

struct RecordingSink : pipeline::EventSink {
  std::mutex mu;
  std::vector<std::string> lines;
  std::string_view name() const override { return "recording"; }
  bool append(const pipeline::Event& e) override {
    std::lock_guard lock(mu);
    lines.push_back(e.json);
    return true;
  }
  void flush() override {}
  // Events per connection, keyed by the vehicle token id in `subject`.
  std::map<std::string, std::vector<boost::json::object>> by_subject() {
    std::lock_guard lock(mu);
    std::map<std::string, std::vector<boost::json::object>> out;
    for (auto& l : lines) {
      auto v = boost::json::parse(l).as_object();
      out[std::string(v.at("subject").as_string())].push_back(v);
    }
    return out;
  }
};

class RuntimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("oemlink-rt-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // `drivers` is the YAML list under drivers:; `cars` connections are generated for `driver`.
  config::Config make_config(const std::string& drivers, int cars, const std::string& driver,
                             const std::string& schedule = "shutdown_timeout: 5s") {
    std::string y = "data_dir: " + dir_.string() + "\nhttp: {allow_plain_http: true}\n" +
                    "vault: {create_if_missing: true, kek: {file: " + (dir_ / "kek").string() +
                    "}}\n" + "schedule: {" + schedule + "}\n" + "drivers:\n" + drivers +
                    "connections:\n";
    for (int i = 1; i <= cars; ++i) {
      y += "  - {id: car-" + std::to_string(i) + ", driver: " + driver + ", vin: 5YJ3E1EA7KF" +
           std::to_string(100000 + i) + ", vehicle_token_id: " + std::to_string(i) +
           ", synthetic_token_id: " + std::to_string(1000 + i) +
           ", key_child: " + std::to_string(i) + "}\n";
    }
    return config::load_config_text(y, "<test>", dir_);
  }

  RuntimeOptions options(RecordingSink& sink) {
    RuntimeOptions o = default_runtime_options();
    o.plugin_dirs = {OEMLINK_PLUGIN_DIR, OEMLINK_TEST_PLUGIN_DIR};
    o.handle_signals = false;
    o.extra_sinks = {&sink};
    o.stats_interval = 0ms;
    return o;
  }

  fs::path dir_;
};

// Tests that run twice: with the driver in the host, and in its own process (isolation:
// process), where every host service and completion crosses the driver process's channel.
class RuntimeIsolationTest : public RuntimeTest, public ::testing::WithParamInterface<std::string> {
 protected:
  std::string isolation() const { return ", isolation: " + GetParam(); }
};
INSTANTIATE_TEST_SUITE_P(Isolation, RuntimeIsolationTest,
                         ::testing::Values("in_process", "process"));

TEST_F(RuntimeTest, MockFleetRunsRoundsAndEveryEventIsWellFormed) {
  RecordingSink sink;
  auto cfg = make_config(
      "  - {name: mock, library: mock, poll_interval: 200ms, settings: {seed: 7}}\n", 20, "mock");
  auto opts = options(sink);
  opts.stop_after_polls = 100;
  opts.duration = 20s;  // a safety net; the poll count ends the run
  Runtime rt(std::move(cfg), opts);
  rt.start();
  EXPECT_EQ(rt.run(), 0);
  EXPECT_GE(rt.metrics().total("oemlink_polls_total", {{"outcome", "ok"}}), 100u);
  auto events = sink.by_subject();
  EXPECT_EQ(events.size(), 20u);  // the load spreads over every car
  size_t total = 0;
  for (auto& [subject, evs] : events) {
    for (auto& e : evs) {
      EXPECT_EQ(e.at("type"), "dimo.status");
      EXPECT_EQ(e.at("specversion"), "1.0");
      auto& signals = e.at("data").at("signals").as_array();
      EXPECT_GE(signals.size(), 10u);
      EXPECT_EQ(e.at("data").at("vin").as_string().size(), 17u);
    }
    total += evs.size();
  }
  EXPECT_EQ(total, rt.metrics().total("oemlink_pipeline_events_built_total"));
  EXPECT_EQ(rt.metrics().total("oemlink_pipeline_readings_rejected_total"), 0u);
}

TEST_F(RuntimeTest, NeedsReauthStopsPollingThatConnection) {
  RecordingSink sink;
  auto cfg = make_config(
      "  - {name: mock, library: mock, poll_interval: 50ms, settings: {reauth_after_polls: 2}}\n",
      5, "mock");
  auto opts = options(sink);
  opts.duration = 1500ms;
  Runtime rt(std::move(cfg), opts);
  rt.start();
  EXPECT_EQ(rt.run(), 0);
  for (uint32_t c = 0; c < rt.connection_count(); ++c)
    EXPECT_EQ(rt.connection_phase(c), schedule::Phase::stopped) << c;
  EXPECT_EQ(rt.metrics().total("oemlink_connection_reports_total", {{"state", "needs_reauth"}}),
            5u);
  for (auto& [subject, evs] : sink.by_subject()) EXPECT_LE(evs.size(), 2u) << subject;
  // Without the stop, 1.5 s at 50 ms would be ~30 polls per car.
  EXPECT_LE(rt.schedule_stats().started, 5u * 3);
}

TEST_F(RuntimeTest, RateLimitedConnectionsWaitForRetryAfter) {
  RecordingSink sink;
  auto cfg = make_config(
      "  - {name: mock, library: mock, poll_interval: 50ms, settings: "
      "{rate_limited_rate: 1, rate_limit_retry_after: 1h}}\n",
      4, "mock");
  auto opts = options(sink);
  opts.duration = 1s;
  Runtime rt(std::move(cfg), opts);
  rt.start();
  EXPECT_EQ(rt.run(), 0);
  EXPECT_EQ(rt.schedule_stats().started, 4u);  // one poll each, then nothing for an hour
  EXPECT_EQ(rt.schedule_stats().rate_limited, 4u);
  for (uint32_t c = 0; c < rt.connection_count(); ++c)
    EXPECT_EQ(rt.connection_phase(c), schedule::Phase::waiting);
}

TEST_F(RuntimeTest, DriverInitFailureNamesDriverFileAndMessage) {
  RecordingSink sink;
  std::string lib = std::string(OEMLINK_TEST_PLUGIN_DIR) + "/oemlink-driver-initfail.so";
  auto cfg = make_config("  - {name: tokens, library: " + lib + "}\n", 1, "tokens");
  Runtime rt(std::move(cfg), options(sink));
  try {
    rt.start();
    FAIL() << "start() should fail";
  } catch (const StartupError& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("driver tokens"), std::string::npos) << m;
    EXPECT_NE(m.find("oemlink-driver-initfail.so"), std::string::npos) << m;
    EXPECT_NE(m.find("initfail: cannot reach token endpoint"), std::string::npos) << m;
  }
}

TEST_F(RuntimeTest, OnLoadErrorSkipKeepsTheRestRunning) {
  RecordingSink sink;
  auto cfg = make_config(
      "  - {name: mock, library: mock, poll_interval: 100ms}\n"
      "  - {name: ghost, library: no-such-driver, on_load_error: skip}\n",
      3, "mock");
  cfg.connections.push_back(cfg.connections.back());
  cfg.connections.back().id = "ghost-car";
  cfg.connections.back().driver = "ghost";
  cfg.connections.back().key_child = 99;
  auto opts = options(sink);
  opts.stop_after_polls = 6;
  opts.duration = 10s;
  Runtime rt(std::move(cfg), opts);
  rt.start();
  EXPECT_EQ(rt.run(), 0);
  EXPECT_EQ(rt.metrics().total("oemlink_connections_skipped_total"), 1u);
  EXPECT_GE(rt.metrics().total("oemlink_polls_total", {{"outcome", "ok"}}), 6u);
}

TEST_F(RuntimeTest, StreamModeDeliversWithoutPolling) {
  RecordingSink sink;
  auto cfg = make_config(
      "  - {name: mock, library: mock, mode: stream, settings: {stream_interval: 50ms}}\n", 3,
      "mock");
  auto opts = options(sink);
  opts.duration = 2s;  // streams come up within a second, spread to avoid a herd
  Runtime rt(std::move(cfg), opts);
  rt.start();
  EXPECT_EQ(rt.run(), 0);
  EXPECT_EQ(rt.metrics().total("oemlink_polls_total", {{"outcome", "ok"}}), 0u);
  auto events = sink.by_subject();
  EXPECT_EQ(events.size(), 3u);
  for (auto& [s, evs] : events) EXPECT_GE(evs.size(), 5u) << s;
}

TEST_P(RuntimeIsolationTest, StreamsThatDropAreRestarted) {
  RecordingSink sink;
  auto cfg = make_config("  - {name: mock, library: mock, mode: stream" + isolation() +
                             ", settings: {stream_interval: 20ms, error_rate: 0.5}}\n",
                         2, "mock", "max_backoff: 100ms");
  auto opts = options(sink);
  opts.duration = 1s;
  Runtime rt(std::move(cfg), opts);
  rt.start();
  EXPECT_EQ(rt.run(), 0);
  EXPECT_GE(rt.metrics().total("oemlink_stream_restarts_total"), 3u);
  EXPECT_GE(sink.by_subject().size(), 1u);
}

TEST_P(RuntimeIsolationTest, HostServicesRotateSecretsCallHttpAndFireTimers) {
  net::testing::TestServer server;
  RecordingSink sink;
  auto cfg = make_config("  - {name: probe, library: probe, poll_interval: 100ms" + isolation() +
                             ", settings: {url: " + server.url("/hello") + "}}\n",
                         3, "probe");
  auto opts = options(sink);
  opts.stop_after_polls = 15;
  opts.duration = 20s;
  {
    Runtime rt(std::move(cfg), opts);
    rt.start();
    EXPECT_EQ(rt.run(), 0);
    EXPECT_GE(rt.metrics().total("oemlink_driver_events_total",
                                 {{"driver", "probe"}, {"name", "token_rotations"}}),
              15u);
    EXPECT_GE(rt.metrics().total("oemlink_driver_http_requests_total", {{"driver", "probe"}}), 15u);
    EXPECT_EQ(rt.metrics().total("oemlink_driver_events_total",
                                 {{"driver", "probe"}, {"name", "process_exits"}}),
              0u);
  }
  EXPECT_EQ(sink.by_subject().size(), 3u);
  // Each car's counter came back from the secret store and rose by one per poll.
  for (auto& [subject, evs] : sink.by_subject()) {
    for (size_t i = 0; i < evs.size(); ++i)
      EXPECT_EQ(evs[i].at("data").at("signals").at(0).at("value").to_number<double>(),
                static_cast<double>(i + 1))
          << subject;
  }
  bool saw_bearer = false;
  for (auto& r : server.requests())
    if (r.header("Authorization").value_or("").rfind("Bearer at-", 0) == 0) saw_bearer = true;
  EXPECT_TRUE(saw_bearer);
  // Tokens are encrypted at rest: no token text in the store's files.
  for (auto& entry : fs::directory_iterator(dir_)) {
    std::ifstream in(entry.path(), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), {});
    EXPECT_EQ(bytes.find("rt-1"), std::string::npos) << entry.path();
    EXPECT_EQ(bytes.find("at-1"), std::string::npos) << entry.path();
  }
  EXPECT_TRUE(fs::exists(dir_ / "secrets.db"));
  // The store's data key is kept only sealed under the KEK (32 key bytes + AEAD overhead).
  EXPECT_EQ(fs::file_size(dir_ / "secrets.key"), 32u + 29u);
}

TEST_F(RuntimeTest, HungPollsAreDetectedCountedAndDoNotBlockTheConnection) {
  RecordingSink sink;
  auto cfg = make_config(
      "  - {name: probe, library: probe, poll_interval: 50ms, poll_timeout: 150ms, "
      "max_concurrent_requests: 2, settings: {hang: \"yes\"}}\n",
      2, "probe", "shutdown_timeout: 1s, max_backoff: 100ms");
  auto opts = options(sink);
  opts.duration = 1500ms;
  Runtime rt(std::move(cfg), opts);
  rt.start();
  EXPECT_EQ(rt.run(), 0);
  // Each car's poll hangs, is given up after 150 ms, and the car is polled again.
  EXPECT_GE(rt.metrics().total("oemlink_polls_hung_total"), 4u);
  EXPECT_GE(rt.schedule_stats().started, 4u);
}

TEST_P(RuntimeIsolationTest, DriverWideStreamFeedsEveryConnection) {
  RecordingSink sink;
  auto cfg = make_config(
      "  - {name: probe, library: probe, mode: driver_stream" + isolation() + "}\n", 3, "probe");
  auto opts = options(sink);
  opts.duration = 600ms;
  Runtime rt(std::move(cfg), opts);
  rt.start();
  EXPECT_EQ(rt.run(), 0);
  EXPECT_EQ(rt.schedule_stats().started, 0u);  // nothing polled
  auto events = sink.by_subject();
  EXPECT_EQ(events.size(), 3u);
  for (auto& [s, evs] : events) EXPECT_GE(evs.size(), 5u) << s;
}

TEST_F(RuntimeTest, PollPlusDriverStreamPollsEveryCarAndRunsTheDriverWideStream) {
  RecordingSink sink;
  auto cfg = make_config(
      "  - {name: probe, library: probe, mode: poll+driver_stream, poll_interval: 100ms}\n", 3,
      "probe");
  auto opts = options(sink);
  opts.duration = 700ms;
  Runtime rt(std::move(cfg), opts);
  rt.start();
  EXPECT_EQ(rt.run(), 0);
  uint64_t polls = rt.metrics().total("oemlink_polls_total", {{"outcome", "ok"}});
  EXPECT_GE(polls, 6u) << "every car polled, as in mode poll";
  EXPECT_GE(rt.metrics().total("oemlink_driver_events_total",
                               {{"driver", "probe"}, {"name", "token_rotations"}}),
            polls);
  auto events = sink.by_subject();
  EXPECT_EQ(events.size(), 3u);
  size_t total = 0;
  for (auto& [s, evs] : events) total += evs.size();
  // The stream emits for every car every 50 ms: far more than the polls alone.
  EXPECT_GE(total, polls + 3 * 5) << "the driver-wide stream ran beside the polls";
}

TEST_F(RuntimeTest, Http429WithRetryAfterHoldsTheConnection) {
  net::testing::TestServer server;
  RecordingSink sink;
  auto cfg = make_config("  - {name: probe, library: probe, poll_interval: 50ms, settings: {url: " +
                             server.url("/status/429") + "}}\n",
                         2, "probe");
  auto opts = options(sink);
  opts.duration = 1s;
  Runtime rt(std::move(cfg), opts);
  rt.start();
  EXPECT_EQ(rt.run(), 0);
  EXPECT_EQ(server.requests_received(), 2);  // Retry-After: 120 keeps each car quiet
  EXPECT_EQ(rt.schedule_stats().rate_limited, 2u);
}

TEST_P(RuntimeIsolationTest,
       WebhooksReachTheDriverWhichKnowsItsUrlAndShutdownAnswersWaitingOnes503) {
  RecordingSink sink;
  auto cfg =
      make_config("  - {name: probe, library: probe, poll_interval: 1h" + isolation() + "}\n", 1,
                  "probe", "shutdown_timeout: 2s");
  config::ListenerConfig inbound;
  inbound.port = 0;  // any free port; the test asks the runtime which
  inbound.public_url = "https://hooks.example.com";
  cfg.listeners.inbound = inbound;
  Runtime rt(std::move(cfg), options(sink));
  rt.start();
  const uint16_t port = rt.listener_port();
  ASSERT_NE(port, 0);
  ASSERT_NE(rt.routes(), nullptr);

  net::testing::RawClient::Response answered, held;
  std::chrono::steady_clock::duration held_for{};
  std::thread client([&] {
    net::testing::RawClient c(port);
    c.send(net::testing::post_request("/webhooks/probe", "url"));
    answered = c.response();
    net::testing::RawClient d(port);
    d.send(net::testing::post_request("/webhooks/probe", "hang"));
    std::this_thread::sleep_for(200ms);
    auto t0 = std::chrono::steady_clock::now();
    rt.request_stop();
    held = d.response();
    held_for = std::chrono::steady_clock::now() - t0;
  });
  EXPECT_EQ(rt.run(), 0);
  client.join();
  ASSERT_TRUE(answered);
  EXPECT_EQ(answered->result_int(), 200);
  EXPECT_EQ(answered->body(), "https://hooks.example.com/webhooks/probe");
  ASSERT_TRUE(held) << "the waiting webhook got no answer at shutdown";
  EXPECT_EQ(held->result_int(), 503);
  EXPECT_LT(held_for, 1s);
  EXPECT_EQ(rt.metrics().total("oemlink_webhook_answers_total",
                               {{"driver", "probe"}, {"outcome", "shutdown"}}),
            1u);
}

TEST_F(RuntimeTest, InItsOwnProcessAFailedCreateIsNamedAsInProcessAndLeavesNoProcess) {
  RecordingSink sink;
  std::string lib = std::string(OEMLINK_TEST_PLUGIN_DIR) + "/oemlink-driver-initfail.so";
  auto cfg =
      make_config("  - {name: tokens, library: " + lib + ", isolation: process}\n", 1, "tokens");
  Runtime rt(std::move(cfg), options(sink));
  try {
    rt.start();
    FAIL() << "start() should fail";
  } catch (const StartupError& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("driver tokens"), std::string::npos) << m;
    EXPECT_NE(m.find("oemlink-driver-initfail.so"), std::string::npos) << m;
    EXPECT_NE(m.find("initfail: cannot reach token endpoint"), std::string::npos) << m;
  }
  // The process that failed to create was waited for: no child of ours is left, not even a
  // zombie.
  EXPECT_EQ(::waitpid(-1, nullptr, WNOHANG), -1);
  EXPECT_EQ(errno, ECHILD);
}

TEST_F(RuntimeTest, AnExceptionOnTheLoopStopsTheDaemonInsteadOfLeavingItRunningIdle) {
  // Whatever throws out of a handler (here the first on_stopping, as the duration ends) is an
  // internal error: the daemon must stop, exit code 1, not keep an idle loop that no first
  // signal ends.
  RecordingSink sink;
  auto cfg =
      make_config("  - {name: mock, library: mock, poll_interval: 200ms, settings: {seed: 7}}\n", 1,
                  "mock", "shutdown_timeout: 1s");
  auto opts = options(sink);
  opts.duration = 300ms;
  opts.handle_signals = true;  // as `oemlink run`: its signal wait is work that keeps a loop up
  int stopping_calls = 0;
  opts.on_stopping = [&] {
    if (++stopping_calls == 1) throw std::runtime_error("a bug on the loop");
  };
  Runtime rt(std::move(cfg), opts);
  rt.start();
  auto ran = std::async(std::launch::async, [&] { return rt.run(); });
  if (ran.wait_for(20s) != std::future_status::ready) {
    // Nothing can stop that loop from here: say so and leave, rather than hang the suite.
    std::fprintf(stderr, "run() did not return within 20 s of an exception on the loop\n");
    std::_Exit(1);
  }
  EXPECT_EQ(ran.get(), 1);
  EXPECT_EQ(stopping_calls, 2);
}

}  // namespace
}  // namespace oemlink::host
