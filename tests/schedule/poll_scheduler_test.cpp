#include "core/schedule/poll_scheduler.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>

namespace oemlink::schedule {
namespace {

constexpr int64_t kSec = 1000;
constexpr int64_t kMin = 60 * kSec;
constexpr int64_t kHour = 60 * kMin;
constexpr int64_t kT0 = 1'700'000'000'000;  // a fixed "now" in Unix ms

// Drives a scheduler with a fake clock: every due poll completes instantly with `outcome`.
struct Sim {
  explicit Sim(PollScheduler& sched, int64_t start = kT0) : s(sched), now(start) {}
  PollScheduler& s;
  int64_t now;
  std::map<ConnIndex, std::vector<int64_t>> starts;

  void run_until(int64_t end, Outcome outcome = Outcome::ok) {
    std::vector<ConnIndex> due;
    while (true) {
      int64_t t = s.next_wakeup(now);
      if (t == kNever || t > end) break;
      now = std::max(now, t);
      due.clear();
      s.take_due(now, due);
      for (ConnIndex c : due) {
        starts[c].push_back(now);
        s.complete(c, outcome, now);
      }
    }
    now = end;
  }
};

TEST(PollScheduler, FirstPollsSpreadOverTheInterval) {
  PollScheduler s;
  auto d = s.add_driver({.max_concurrent = 1'000'000, .poll_interval_ms = kMin});
  constexpr int kConns = 10'000;
  for (int i = 0; i < kConns; ++i) s.add_connection(d, kT0);
  std::vector<int> buckets(10);
  for (ConnIndex c = 0; c < kConns; ++c) {
    int64_t offset = s.due(c) - kT0;
    ASSERT_GE(offset, 0);
    ASSERT_LT(offset, kMin);
    buckets[offset * 10 / kMin]++;
  }
  for (int b : buckets) EXPECT_NEAR(b, kConns / 10, kConns / 10 * 0.15);
}

TEST(PollScheduler, SteadyStatePollsAtTheIntervalWithJitter) {
  PollScheduler s({.jitter = 0.1});
  auto d = s.add_driver({.max_concurrent = 1000, .poll_interval_ms = kMin});
  for (int i = 0; i < 100; ++i) s.add_connection(d, kT0);
  Sim sim(s);
  sim.run_until(kT0 + kHour);
  for (auto& [c, times] : sim.starts) {
    EXPECT_GE(times.size(), 57u) << c;
    EXPECT_LE(times.size(), 67u) << c;
    for (size_t i = 1; i < times.size(); ++i) {
      int64_t gap = times[i] - times[i - 1];
      EXPECT_GE(gap, kMin * 0.9 - 1);
      EXPECT_LE(gap, kMin * 1.1 + 1);
    }
  }
  EXPECT_EQ(sim.starts.size(), 100u);
}

TEST(PollScheduler, ConnectionIntervalOverridesTheDriver) {
  PollScheduler s({.jitter = 0});
  auto d = s.add_driver({.poll_interval_ms = kHour});
  auto fast = s.add_connection(d, kT0, 10 * kSec);
  Sim sim(s);
  sim.run_until(kT0 + 10 * kMin);
  EXPECT_NEAR(static_cast<double>(sim.starts[fast].size()), 60.0, 1.0);
}

TEST(PollScheduler, ConcurrencyCapHoldsAndCompletionsReleaseQueuedWork) {
  PollScheduler s;
  auto d = s.add_driver({.max_concurrent = 3, .poll_interval_ms = kMin});
  for (int i = 0; i < 10; ++i) s.add_connection(d, kT0);
  std::vector<ConnIndex> due;
  s.take_due(kT0 + kMin, due);
  ASSERT_EQ(due.size(), 3u);
  EXPECT_EQ(s.in_flight(d), 3u);
  EXPECT_EQ(s.queued(d), 7u);
  // Nothing more until a completion, even much later.
  std::vector<ConnIndex> more;
  s.take_due(kT0 + 2 * kMin, more);
  EXPECT_TRUE(more.empty());
  s.complete(due[0], Outcome::ok, kT0 + 2 * kMin);
  s.take_due(kT0 + 2 * kMin, more);
  EXPECT_EQ(more.size(), 1u);
  EXPECT_EQ(s.in_flight(d), 3u);
}

TEST(PollScheduler, TokenBucketLimitsTheStartRate) {
  PollScheduler s;
  auto d = s.add_driver(
      {.max_concurrent = 1000, .rate_per_s = 2, .burst = 1, .poll_interval_ms = kHour});
  for (int i = 0; i < 100; ++i) s.add_connection(d, kT0 - kHour);  // all overdue
  Sim sim(s);
  sim.run_until(kT0 + 10 * kSec);
  size_t started = 0;
  for (auto& [c, t] : sim.starts) started += t.size();
  EXPECT_GE(started, 20u);
  EXPECT_LE(started, 22u);
  // The scheduler asks to be woken for the next token, not spun.
  int64_t wake = s.next_wakeup(sim.now);
  EXPECT_GT(wake, sim.now);
  EXPECT_LE(wake, sim.now + 501);
}

TEST(PollScheduler, FailuresBackOffExponentiallyWithJitterUpToTheCap) {
  PollScheduler s({.jitter = 0, .max_backoff_ms = 8 * kMin});
  auto d = s.add_driver({.poll_interval_ms = kMin});
  auto c = s.add_connection(d, kT0);
  int64_t now = kT0 + kMin;
  std::vector<int64_t> delays;
  for (int i = 0; i < 7; ++i) {
    std::vector<ConnIndex> due;
    now = s.due(c);
    s.take_due(now, due);
    ASSERT_EQ(due.size(), 1u);
    s.complete(c, Outcome::error, now);
    delays.push_back(s.due(c) - now);
  }
  // delay_n in [base*2^(n-1)/2, base*2^(n-1)], capped at 8 min.
  int64_t expected[] = {1, 2, 4, 8, 8, 8, 8};
  for (size_t i = 0; i < delays.size(); ++i) {
    EXPECT_GE(delays[i], expected[i] * kMin / 2) << i;
    EXPECT_LE(delays[i], expected[i] * kMin) << i;
  }
  EXPECT_EQ(s.failures(c), 7);
  // One success resets the back-off.
  std::vector<ConnIndex> due;
  now = s.due(c);
  s.take_due(now, due);
  s.complete(c, Outcome::ok, now);
  EXPECT_EQ(s.failures(c), 0);
  EXPECT_LE(s.due(c) - now, kMin);
}

TEST(PollScheduler, RateLimitedUntilHoursAwayMeansNothingBeforeThen) {
  PollScheduler s;
  auto d = s.add_driver({.poll_interval_ms = 5 * kMin});
  auto c = s.add_connection(d, kT0);
  std::vector<ConnIndex> due;
  int64_t now = s.due(c);
  s.take_due(now, due);
  ASSERT_EQ(due.size(), 1u);
  int64_t until = now + 24 * kHour;  // Retry-After: 86400
  s.report(c, ReportedState::rate_limited, until, now);
  s.complete(c, Outcome::retry, now);
  EXPECT_GE(s.due(c), until);
  Sim sim(s, now);
  sim.run_until(until - 1);
  EXPECT_TRUE(sim.starts.empty());
  sim.run_until(until + 2 * kMin);
  EXPECT_EQ(sim.starts[c].size(), 1u);
  EXPECT_EQ(s.stats().rate_limited, 1u);
}

TEST(PollScheduler, NeedsReauthStopsPollingUntilResumed) {
  PollScheduler s;
  auto d = s.add_driver({.poll_interval_ms = kMin});
  auto c = s.add_connection(d, kT0);
  auto other = s.add_connection(d, kT0);
  std::vector<ConnIndex> due;
  int64_t now = std::max(s.due(c), s.due(other));
  s.take_due(now, due);
  ASSERT_EQ(due.size(), 2u);
  s.report(c, ReportedState::needs_reauth, 0, now);
  s.complete(c, Outcome::error, now);
  s.complete(other, Outcome::ok, now);
  EXPECT_EQ(s.phase(c), Phase::stopped);
  Sim sim(s, now);
  sim.run_until(now + kHour);
  EXPECT_EQ(sim.starts.count(c), 0u);
  EXPECT_GE(sim.starts[other].size(), 55u);
  s.resume(c, sim.now);
  EXPECT_EQ(s.phase(c), Phase::waiting);
  sim.run_until(sim.now + kMin);
  EXPECT_GE(sim.starts[c].size(), 1u);
}

TEST(PollScheduler, AsleepUsesTheLongerInterval) {
  PollScheduler s({.jitter = 0});
  auto d = s.add_driver({.poll_interval_ms = kMin, .asleep_interval_ms = 15 * kMin});
  auto c = s.add_connection(d, kT0);
  std::vector<ConnIndex> due;
  int64_t now = s.due(c);
  s.take_due(now, due);
  s.report(c, ReportedState::asleep, 0, now);
  s.complete(c, Outcome::ok, now);
  EXPECT_EQ(s.due(c) - now, 15 * kMin);
  // The state applies to one poll: an awake poll goes back to the normal interval.
  due.clear();
  now = s.due(c);
  s.take_due(now, due);
  s.complete(c, Outcome::ok, now);
  EXPECT_EQ(s.due(c) - now, kMin);
}

TEST(PollScheduler, ReportsOutsideAPollApplyAtOnce) {
  PollScheduler s;
  auto d = s.add_driver({.poll_interval_ms = kMin});
  auto a = s.add_connection(d, kT0);
  auto b = s.add_connection(d, kT0);
  s.report(a, ReportedState::rate_limited, kT0 + 3 * kHour, kT0);
  s.report(b, ReportedState::failed, 0, kT0);
  EXPECT_GE(s.due(a), kT0 + 3 * kHour);
  EXPECT_EQ(s.phase(b), Phase::stopped);
  Sim sim(s);
  sim.run_until(kT0 + 2 * kHour);
  EXPECT_TRUE(sim.starts.empty());
}

TEST(PollScheduler, ReportWhileQueuedLeavesTheQueue) {
  PollScheduler s;
  auto d = s.add_driver({.max_concurrent = 1, .poll_interval_ms = kMin});
  auto a = s.add_connection(d, kT0);
  auto b = s.add_connection(d, kT0);
  std::vector<ConnIndex> due;
  s.take_due(kT0 + kMin, due);
  ASSERT_EQ(due.size(), 1u);
  ConnIndex queued = due[0] == a ? b : a;
  EXPECT_EQ(s.phase(queued), Phase::queued);
  s.report(queued, ReportedState::needs_reauth, 0, kT0 + kMin);
  EXPECT_EQ(s.queued(d), 0u);
  s.complete(due[0], Outcome::ok, kT0 + kMin);
  due.clear();
  s.take_due(kT0 + kMin, due);
  EXPECT_TRUE(due.empty());
}

TEST(PollScheduler, LateOrDuplicateCompletionsAreIgnored) {
  PollScheduler s;
  auto d = s.add_driver({.max_concurrent = 1, .poll_interval_ms = kMin});
  auto c = s.add_connection(d, kT0);
  std::vector<ConnIndex> due;
  s.take_due(kT0 + kMin, due);
  s.complete(c, Outcome::ok, kT0 + kMin);
  int64_t next = s.due(c);
  s.complete(c, Outcome::error, kT0 + kMin);  // a second done() from a buggy driver
  EXPECT_EQ(s.due(c), next);
  EXPECT_EQ(s.failures(c), 0);
  EXPECT_EQ(s.in_flight(d), 0u);
}

TEST(PollScheduler, StreamsRestartWithGrowingBackoffThatResetsAfterALongRun) {
  PollScheduler s({.jitter = 0, .max_backoff_ms = kMin});
  auto d = s.add_driver({.poll_interval_ms = kMin});
  auto c = s.add_connection(d, kT0, 0, ConnMode::stream);
  EXPECT_LT(s.due(c), kT0 + 1000);
  std::vector<ConnIndex> due;
  int64_t now = kT0 + 1000;
  s.take_due(now, due);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_TRUE(s.is_stream(c));
  s.stream_up(c);
  EXPECT_EQ(s.phase(c), Phase::streaming);
  std::vector<int64_t> delays;
  for (int i = 0; i < 8; ++i) {
    s.stream_ended(c, false, now);
    delays.push_back(s.due(c) - now);
    now = s.due(c);
    due.clear();
    s.take_due(now, due);
    ASSERT_EQ(due.size(), 1u);
    s.stream_up(c);
  }
  EXPECT_LE(delays[0], 1000);
  EXPECT_GE(delays[3], 4000);
  EXPECT_LE(delays[7], kMin);
  s.stream_ended(c, true, now);
  EXPECT_LE(s.due(c) - now, 1000);
}

TEST(PollScheduler, PassiveConnectionsAreNeverScheduled) {
  PollScheduler s;
  auto d = s.add_driver({.poll_interval_ms = kSec});
  auto c = s.add_connection(d, kT0, 0, ConnMode::passive);
  EXPECT_EQ(s.phase(c), Phase::streaming);
  Sim sim(s);
  sim.run_until(kT0 + kMin);
  EXPECT_TRUE(sim.starts.empty());
  s.report(c, ReportedState::needs_reauth, 0, kT0);
  EXPECT_EQ(s.phase(c), Phase::stopped);
}

TEST(PollScheduler, APauseLetsThePollInFlightCompleteThenStopsUntilRestarted) {
  PollScheduler s({.jitter = 0});
  auto d = s.add_driver({.max_concurrent = 1, .poll_interval_ms = kMin});
  auto a = s.add_connection(d, kT0, 0);
  auto b = s.add_connection(d, kT0, 0);
  std::vector<ConnIndex> due;
  s.take_due(kT0 + kMin, due);
  ASSERT_EQ(due.size(), 1u);  // concurrency 1: one in flight, the other queued
  ConnIndex running = due[0], queued = running == a ? b : a;
  EXPECT_TRUE(s.pause(running)) << "in flight";
  EXPECT_FALSE(s.pause(queued)) << "queued: taken out at once";
  EXPECT_EQ(s.phase(queued), Phase::stopped);
  EXPECT_EQ(s.queued(d), 0u);
  EXPECT_EQ(s.phase(running), Phase::in_flight);
  s.complete(running, Outcome::ok, kT0 + kMin + 5);
  EXPECT_EQ(s.phase(running), Phase::stopped);
  EXPECT_EQ(s.in_flight(d), 0u) << "the concurrency slot is free again";
  EXPECT_EQ(s.stats().completed_ok, 1u);
  // A driver's OK does not resume a paused connection; nothing polls for hours.
  s.report(running, ReportedState::ok, 0, kT0 + kMin + 6);
  s.resume(running, kT0 + kMin + 6);
  Sim sim(s, kT0 + kMin + 6);
  sim.run_until(kT0 + 3 * kHour);
  EXPECT_TRUE(sim.starts.empty());
  // Restarted: due at once, on a lane and interval given now.
  auto fast = s.add_driver({.poll_interval_ms = kSec});
  ASSERT_TRUE(s.restart(running, fast, 0, ConnMode::poll, sim.now));
  EXPECT_FALSE(s.paused(running));
  EXPECT_EQ(s.driver_of(running), fast);
  sim.run_until(sim.now + 10 * kSec);
  EXPECT_EQ(sim.starts[running].size(), 11u);
  EXPECT_TRUE(sim.starts[queued].empty());
  EXPECT_FALSE(s.restart(running, fast, 0, ConnMode::poll, sim.now)) << "not stopped";
}

TEST(PollScheduler, PollNowMakesOnlyAWaitingConnectionDueAtOnce) {
  PollScheduler s({.jitter = 0});
  auto d = s.add_driver({.poll_interval_ms = kHour});
  auto c = s.add_connection(d, kT0, 0);
  std::vector<ConnIndex> due;
  s.take_due(kT0 + kHour, due);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_FALSE(s.poll_now(c, kT0 + kHour)) << "in flight already";
  s.complete(c, Outcome::ok, kT0 + kHour);
  due.clear();
  s.take_due(kT0 + kHour + kSec, due);
  EXPECT_TRUE(due.empty());
  ASSERT_TRUE(s.poll_now(c, kT0 + kHour + kSec));
  s.take_due(kT0 + kHour + kSec, due);
  EXPECT_EQ(due.size(), 1u);
  s.complete(c, Outcome::ok, kT0 + kHour + kSec);
  s.pause(c);
  EXPECT_FALSE(s.poll_now(c, kT0 + kHour + 2 * kSec)) << "paused";
}

TEST(PollScheduler, ConnectionsAddedLaterAreScheduledWithoutMovingTheOthers) {
  PollScheduler s({.jitter = 0});
  auto d = s.add_driver({.poll_interval_ms = kMin});
  Sim sim(s);
  for (int i = 0; i < 100; ++i) s.add_connection(d, sim.now, 0);
  sim.run_until(kT0 + 2 * kMin);
  for (int i = 0; i < 5000; ++i) s.add_connection(d, sim.now, 0);
  sim.run_until(kT0 + 4 * kMin);
  EXPECT_EQ(s.size(), 5100u);
  for (ConnIndex c = 0; c < 5100; ++c) ASSERT_GE(sim.starts[c].size(), 1u) << c;
  EXPECT_EQ(sim.starts[0].size(), 4u);
}

TEST(PollScheduler, StateIsAFewDozenBytesPerConnection) {
  EXPECT_LE(PollScheduler::kBytesPerConnection, 48u);
}

}  // namespace
}  // namespace oemlink::schedule
