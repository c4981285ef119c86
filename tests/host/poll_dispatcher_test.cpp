// PollDispatcher with a fake clock and a scripted driver: when polls start, what completes them,
// what the watchdog does with a poll that never ends, and how reported states move the schedule.
// Time moves only through FakeClock; the loop only runs what was posted (io.poll()).
#include "core/host/poll_dispatcher.hpp"

#include "tests/host/fake_clock.hpp"
#include "tests/host/scripted_driver.hpp"

#include <gtest/gtest.h>

#include <memory>

namespace oemlink::host {
namespace {

using testing::FakeClock;
using testing::ScriptedDriver;
constexpr int64_t kMinute = 60'000;

class PollDispatcherTest : public ::testing::Test {
 protected:
  boost::asio::io_context io;
  FakeClock clock;
  MetricsRegistry metrics;
  config::Config cfg;
  config::DriverConfig dc;
  ConnectionTable conns;
  ScriptedDriver driver;
  std::unique_ptr<DriverSet> drivers;
  std::unique_ptr<PollDispatcher> dispatcher;
  DispatchOptions options;
  int poll_limit_calls = 0;

  PollDispatcherTest() {
    dc.name = "scripted";
    dc.poll_interval = std::chrono::milliseconds(kMinute);
    dc.poll_timeout = std::chrono::milliseconds(30'000);
    options.policy.jitter = 0;
    options.policy.max_backoff_ms = 10 * kMinute;
    options.on_poll_limit = [this] { ++poll_limit_calls; };
  }

  void build(uint32_t connections) {
    drivers = std::make_unique<DriverSet>(cfg, std::vector<std::filesystem::path>{"/nonexistent"});
    DriverInstance& d =
        drivers->adopt(dc, testing::scripted_descriptor(), testing::instance_of(driver), nullptr);
    dispatcher = std::make_unique<PollDispatcher>(io, clock, conns, *drivers, metrics, options);
    dispatcher->add_driver(d);
    for (uint32_t i = 0; i < connections; ++i) {
      config::ConnectionConfig cc;
      cc.id = "car-" + std::to_string(i);
      cc.driver = dc.name;
      cc.key_child = i + 1;
      uint32_t c = conns.add(cc, d.index);
      dispatcher->add_connection(c, d, std::nullopt);
      std::string error;
      ASSERT_TRUE(conns.open(c, d, error)) << error;
    }
  }
  // Runs what was posted to the loop, at the current fake time.
  void run_posted() {
    io.restart();
    io.poll();
  }
  // Moves time on, then lets the dispatcher start whatever is due.
  void advance(int64_t ms) {
    clock.advance(ms);
    dispatcher->dispatch();
    run_posted();
  }
  uint64_t count(std::string_view name, const MetricLabels& labels = {}) {
    return static_cast<uint64_t>(metrics.total(name, labels));
  }
};

TEST_F(PollDispatcherTest, FirstPollsAreSpreadOverOneIntervalThenRepeatEveryInterval) {
  build(20);
  dispatcher->dispatch();
  EXPECT_LT(driver.polls_started, 20) << "a start must not poll every car at once";
  advance(kMinute);
  EXPECT_EQ(driver.polls_started, 20);
  while (!driver.polls.empty()) driver.complete_next(OEMLINK_OK);
  run_posted();
  EXPECT_EQ(count("oemlink_polls_total", {{"outcome", "ok"}}), 20u);
  advance(kMinute / 2);
  EXPECT_LT(driver.polls_started, 40);
  advance(kMinute);
  EXPECT_EQ(driver.polls_started, 40);
}

TEST_F(PollDispatcherTest, AConnectionNeverHasTwoPollsInFlight) {
  build(1);
  advance(kMinute);
  ASSERT_EQ(driver.polls_started, 1);
  advance(10 * kMinute);  // far past its interval, but its poll has not completed
  EXPECT_EQ(driver.polls_started, 1);
  EXPECT_EQ(dispatcher->phase(0), schedule::Phase::in_flight);
}

TEST_F(PollDispatcherTest, TheWatchdogFailsAHungPollAndIgnoresItsLateCompletion) {
  build(1);
  advance(kMinute);
  ASSERT_EQ(driver.polls.size(), 1u);
  clock.advance(29'000);
  dispatcher->sweep_hung_polls();
  EXPECT_EQ(count("oemlink_polls_hung_total"), 0u);
  clock.advance(2'000);
  dispatcher->sweep_hung_polls();
  EXPECT_EQ(count("oemlink_polls_hung_total"), 1u);
  EXPECT_EQ(count("oemlink_polls_total", {{"outcome", "error"}}), 1u);
  EXPECT_NE(dispatcher->phase(0), schedule::Phase::in_flight) << "the connection is free again";
  driver.complete_next(OEMLINK_OK);  // the hung poll finally answers
  run_posted();
  EXPECT_EQ(count("oemlink_driver_late_completions_total"), 1u);
  EXPECT_EQ(count("oemlink_polls_total", {{"outcome", "ok"}}), 0u);
  EXPECT_EQ(dispatcher->in_flight(), 0u) << "the late completion released the ticket";
}

TEST_F(PollDispatcherTest, ADuplicateCompletionIsCountedAndIgnored) {
  build(1);
  advance(kMinute);
  testing::PendingPoll p = driver.polls.front();
  driver.complete_next(OEMLINK_OK);
  p.done(p.done_ctx, OEMLINK_OK, {nullptr, 0});  // a buggy driver calls done twice
  run_posted();
  EXPECT_EQ(count("oemlink_polls_total", {{"outcome", "ok"}}), 1u);
  EXPECT_EQ(count("oemlink_driver_late_completions_total"), 1u);
}

TEST_F(PollDispatcherTest, APollThatRefusesToStartIsARetry) {
  build(1);
  driver.poll_answer = OEMLINK_RETRY;
  advance(kMinute);
  EXPECT_EQ(driver.polls_started, 1);
  EXPECT_EQ(count("oemlink_polls_total", {{"outcome", "retry"}}), 1u);
  EXPECT_EQ(dispatcher->in_flight(), 0u);
}

TEST_F(PollDispatcherTest, RateLimitedWaitsUntilTheWallClockTimeTheDriverNamed) {
  build(1);
  advance(kMinute);
  dispatcher->apply_state(0, OEMLINK_STATE_RATE_LIMITED, clock.wall_ms() + 10 * kMinute,
                          "429 Retry-After: 600");
  driver.complete_next(OEMLINK_RETRY, "rate limited");
  run_posted();
  EXPECT_EQ(count("oemlink_connection_reports_total", {{"state", "rate_limited"}}), 1u);
  advance(9 * kMinute);
  EXPECT_EQ(driver.polls_started, 1) << "nothing before the time the driver named";
  advance(2 * kMinute);
  EXPECT_EQ(driver.polls_started, 2);
}

TEST_F(PollDispatcherTest, ARateLimitCenturiesAwayIsCappedAtThirtyDays) {
  build(1);
  advance(kMinute);
  dispatcher->apply_state(0, OEMLINK_STATE_RATE_LIMITED, INT64_MAX / 2, "garbage");
  driver.complete_next(OEMLINK_RETRY);
  run_posted();
  advance(30LL * 24 * 60 * kMinute + kMinute);
  EXPECT_EQ(driver.polls_started, 2);
}

TEST_F(PollDispatcherTest, AWallClockStepDoesNotMoveTheSchedule) {
  build(1);
  advance(kMinute);
  driver.complete_next(OEMLINK_OK);
  run_posted();
  clock.step_wall(-2 * 60 * kMinute);  // NTP steps the wall clock back two hours
  advance(kMinute);
  EXPECT_EQ(driver.polls_started, 2);
}

TEST_F(PollDispatcherTest, NeedsReauthStopsPollingThatConnection) {
  build(2);
  advance(kMinute);
  dispatcher->apply_state(0, OEMLINK_STATE_NEEDS_REAUTH, 0, "invalid_grant");
  driver.complete_next(OEMLINK_ERROR);
  driver.complete_next(OEMLINK_OK);
  run_posted();
  EXPECT_EQ(dispatcher->phase(0), schedule::Phase::stopped);
  EXPECT_EQ(count("oemlink_connection_reports_total", {{"state", "needs_reauth"}}), 1u);
  advance(5 * kMinute);
  EXPECT_EQ(driver.polls_started, 3) << "only the healthy car polls again";
  EXPECT_EQ(dispatcher->stopped_connections(), 1u);
}

TEST_F(PollDispatcherTest, OkFromTheDriverResumesAStoppedConnection) {
  build(1);
  advance(kMinute);
  dispatcher->apply_state(0, OEMLINK_STATE_FAILED, 0, "VEHICLE_ERROR");
  driver.complete_next(OEMLINK_ERROR);
  run_posted();
  ASSERT_EQ(dispatcher->phase(0), schedule::Phase::stopped);
  advance(10 * kMinute);
  EXPECT_EQ(driver.polls_started, 1);
  dispatcher->apply_state(0, OEMLINK_STATE_OK, 0, "VEHICLE_ERROR resolved");
  EXPECT_EQ(count("oemlink_connection_reports_total", {{"state", "resumed"}}), 1u);
  advance(kMinute);
  EXPECT_EQ(driver.polls_started, 2) << "the resumed car polls again";
  EXPECT_EQ(dispatcher->stopped_connections(), 0u);
}

TEST_F(PollDispatcherTest, AnUnknownStateFromANewerDriverIsIgnored) {
  build(1);
  advance(kMinute);
  dispatcher->apply_state(0, static_cast<oemlink_conn_state>(99), 0, "");
  EXPECT_EQ(dispatcher->phase(0), schedule::Phase::in_flight);
}

TEST_F(PollDispatcherTest, CompletionsPassThroughTheHookBeforeTheyCount) {
  options.stop_after_polls = 2;
  build(2);
  std::vector<uint32_t> held;
  dispatcher->set_complete_hook(
      [&](uint32_t c, oemlink_status, std::string) { held.push_back(c); });
  advance(kMinute);
  driver.complete_next(OEMLINK_OK);
  driver.complete_next(OEMLINK_OK);
  run_posted();
  EXPECT_EQ(held.size(), 2u);
  EXPECT_EQ(count("oemlink_polls_total", {{"outcome", "ok"}}), 0u)
      << "held completions do not count yet";
  EXPECT_EQ(dispatcher->phase(0), schedule::Phase::in_flight);
  for (uint32_t c : held) dispatcher->apply_completion(c, OEMLINK_OK, "");
  EXPECT_EQ(count("oemlink_polls_total", {{"outcome", "ok"}}), 2u);
  EXPECT_EQ(poll_limit_calls, 1) << "stop_after_polls reached";
}

TEST_F(PollDispatcherTest, AStreamThatEndsIsRestartedWithBackOffAndStoppedAtShutdown) {
  dc.mode = config::IngestMode::stream;
  build(1);
  advance(kMinute);
  ASSERT_EQ(driver.streams.size(), 1u);
  EXPECT_EQ(dispatcher->phase(0), schedule::Phase::streaming);
  testing::PendingStream s = driver.streams.front();
  s.ended(s.ctx, OEMLINK_RETRY, {"peer closed", 11});
  run_posted();
  EXPECT_EQ(count("oemlink_stream_restarts_total"), 1u);
  EXPECT_EQ(driver.streams.size(), 1u) << "not restarted at once";
  advance(10 * kMinute);
  ASSERT_EQ(driver.streams.size(), 2u);
  dispatcher->stop_scheduling();
  dispatcher->stop_streams();
  EXPECT_EQ(driver.streams_stopped, 1);
  EXPECT_EQ(dispatcher->in_flight(), 0u);
}

TEST_F(PollDispatcherTest, PollPlusDriverStreamPollsEveryCarAndRunsOneRestartedStream) {
  dc.mode = config::IngestMode::poll_and_driver_stream;
  build(2);
  dispatcher->start();
  run_posted();
  ASSERT_EQ(driver.streams.size(), 1u) << "one driver-wide stream at start";
  EXPECT_EQ(driver.streams.front().conn, nullptr) << "driver-wide: no connection handle";
  advance(kMinute);
  EXPECT_EQ(driver.polls_started, 2) << "and every car is polled as in mode poll";
  EXPECT_EQ(dispatcher->phase(0), schedule::Phase::in_flight);
  while (!driver.polls.empty()) driver.complete_next(OEMLINK_OK);
  run_posted();
  EXPECT_EQ(count("oemlink_polls_total", {{"outcome", "ok"}}), 2u);

  // The stream ends: restarted with back-off, while polling goes on.
  testing::PendingStream s = driver.streams.front();
  s.ended(s.ctx, OEMLINK_RETRY, {"broker gone", 11});
  run_posted();
  EXPECT_EQ(count("oemlink_stream_restarts_total"), 1u);
  EXPECT_EQ(driver.streams.size(), 1u) << "not restarted at once";
  advance(kMinute);
  EXPECT_EQ(driver.polls_started, 4);
  io.restart();
  io.run_for(std::chrono::milliseconds(1500));  // the restart timer is a real steady_timer
  EXPECT_EQ(driver.streams.size(), 2u) << "restarted after its back-off";

  dispatcher->stop_scheduling();
  dispatcher->stop_streams();
  EXPECT_EQ(driver.streams_stopped, 1) << "the live driver-wide stream is stopped at shutdown";
  EXPECT_EQ(dispatcher->outstanding_by_driver(), std::vector<size_t>{2}) << "polls still in flight";
}

TEST_F(PollDispatcherTest, OutstandingPollsAreCountedPerDriverForShutdown) {
  build(3);
  advance(kMinute);
  EXPECT_EQ(dispatcher->outstanding_by_driver(), std::vector<size_t>{3});
  driver.complete_next(OEMLINK_OK);
  run_posted();
  EXPECT_EQ(dispatcher->outstanding_by_driver(), std::vector<size_t>{2});
}

TEST_F(PollDispatcherTest, ACompletionAfterTheDispatcherIsGoneIsDropped) {
  build(1);
  advance(kMinute);
  testing::PendingPoll p = driver.polls.front();
  dispatcher.reset();
  p.done(p.done_ctx, OEMLINK_OK, {nullptr, 0});  // must not touch freed memory (ASan checks)
  SUCCEED();
}

}  // namespace
}  // namespace oemlink::host
