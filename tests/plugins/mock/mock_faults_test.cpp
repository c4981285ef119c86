// Failure injection, simulated latency and back-pressure.
#include "tests/plugins/mock/mock_fixture.hpp"

#include <gtest/gtest.h>

namespace oemlink::test {
namespace {

TEST(MockFaults, ErrorRateOneFailsEveryPoll) {
  OneCar car(R"({"error_rate": 1})");
  for (int i = 0; i < 3; ++i) {
    Completion& done = car.poll();
    EXPECT_EQ(done.calls, 1);
    EXPECT_EQ(done.status, OEMLINK_ERROR);
    EXPECT_EQ(done.message, "mock: injected error");
  }
  EXPECT_TRUE(car.host().emits.empty());
}

TEST(MockFaults, RetryRateOneIsATransient503) {
  OneCar car(R"({"retry_rate": 1})");
  Completion& done = car.poll();
  EXPECT_EQ(done.status, OEMLINK_RETRY);
  EXPECT_EQ(done.message, "mock: injected 503");
  EXPECT_TRUE(car.host().emits.empty());
}

TEST(MockFaults, AsleepRateOneReportsAsleepAndCompletesOk) {
  OneCar car(R"({"asleep_rate": 1})");
  Completion& done = car.poll();
  EXPECT_EQ(done.calls, 1);
  EXPECT_EQ(done.status, OEMLINK_OK);
  ASSERT_EQ(car.host().states.size(), 1u);
  EXPECT_EQ(car.host().states[0].state, OEMLINK_STATE_ASLEEP);
  EXPECT_EQ(car.host().states[0].conn, car.conn);
  EXPECT_TRUE(car.host().emits.empty());
}

TEST(MockFaults, RateLimitedReportsUntilNowPlusRetryAfter) {
  OneCar car(R"({"rate_limited_rate": 1, "rate_limit_retry_after": 90000})");
  const int64_t now = car.host().now_ms;
  Completion& done = car.poll();
  EXPECT_EQ(done.status, OEMLINK_RETRY);
  ASSERT_EQ(car.host().states.size(), 1u);
  const RecordedState& s = car.host().states[0];
  EXPECT_EQ(s.state, OEMLINK_STATE_RATE_LIMITED);
  EXPECT_EQ(s.until_unix_ms, now + 90000);
  EXPECT_EQ(s.reason, "mock: 429 Retry-After 90");
  EXPECT_TRUE(car.host().emits.empty());
}

TEST(MockFaults, RateLimitDefaultsToAnHour) {
  OneCar car(R"({"rate_limited_rate": 1})");
  const int64_t now = car.host().now_ms;
  car.poll();
  ASSERT_EQ(car.host().states.size(), 1u);
  EXPECT_EQ(car.host().states[0].until_unix_ms, now + 3600000);
  EXPECT_EQ(car.host().states[0].reason, "mock: 429 Retry-After 3600");
}

TEST(MockFaults, NeedsReauthAfterTheConfiguredPolls) {
  OneCar car(R"({"reauth_after_polls": 3})");
  for (int i = 0; i < 3; ++i) EXPECT_EQ(car.poll().status, OEMLINK_OK);
  EXPECT_EQ(car.host().emits.size(), 3u);
  EXPECT_TRUE(car.host().states.empty());
  Completion& fourth = car.poll();
  EXPECT_EQ(fourth.status, OEMLINK_ERROR);
  ASSERT_EQ(car.host().states.size(), 1u);
  EXPECT_EQ(car.host().states[0].state, OEMLINK_STATE_NEEDS_REAUTH);
  EXPECT_EQ(car.host().emits.size(), 3u);
}

TEST(MockFaults, PartialRatesAreDeterministicAndRoughlyRight) {
  auto run = [] {
    OneCar car(R"({"seed": 5, "error_rate": 0.3, "asleep_rate": 0.2})");
    std::vector<oemlink_status> statuses;
    int errors = 0, asleep = 0;
    for (int i = 0; i < 1000; ++i) {
      Completion& done = car.poll();
      statuses.push_back(done.status);
      errors += done.status == OEMLINK_ERROR;
      car.host().now_ms += 60'000;
    }
    for (const RecordedState& s : car.host().states) asleep += s.state == OEMLINK_STATE_ASLEEP;
    EXPECT_NEAR(errors, 300, 60);
    EXPECT_NEAR(asleep, 200, 50);
    return statuses;
  };
  EXPECT_EQ(run(), run());
}

TEST(MockFaults, WakingUpAfterSleepReportsOk) {
  OneCar car(R"({"seed": 5, "asleep_rate": 0.5})");
  for (int i = 0; i < 50; ++i) car.poll();
  const auto& states = car.host().states;
  bool saw_wake = false;
  for (size_t i = 1; i < states.size(); ++i) {
    if (states[i].state == OEMLINK_STATE_OK) {
      EXPECT_EQ(states[i - 1].state, OEMLINK_STATE_ASLEEP) << "OK only after another state";
      saw_wake = true;
    }
  }
  EXPECT_TRUE(saw_wake);
}

TEST(MockLatency, CompletesOnTheHostTimerNotInsidePoll) {
  OneCar car(R"({"latency": 500})");
  Completion& done = car.poll();
  EXPECT_EQ(done.calls, 0);
  EXPECT_EQ(car.host().pending_timers(), 1u);
  EXPECT_EQ(car.host().run_timers(499), 0);
  EXPECT_EQ(done.calls, 0);
  EXPECT_EQ(car.host().run_timers(1), 1);
  EXPECT_EQ(done.calls, 1);
  EXPECT_EQ(done.status, OEMLINK_OK);
  ASSERT_EQ(car.host().emits.size(), 1u);
  EXPECT_EQ(car.host().emits[0].readings[0].timestamp_ms, car.host().now_ms);
}

TEST(MockLatency, CancelledTimerCompletesWithRetry) {
  OneCar car(R"({"latency": 500})");
  Completion& done = car.poll();
  ASSERT_EQ(car.host().pending_timers(), 1u);
  car.host().table()->timer_cancel(car.host().table(), 1);  // the fake's first timer id
  EXPECT_EQ(done.calls, 1);
  EXPECT_EQ(done.status, OEMLINK_RETRY);
  EXPECT_TRUE(car.host().emits.empty());
}

TEST(MockLatency, InjectedFailuresAlsoWaitForTheLatency) {
  OneCar car(R"({"latency": 200, "error_rate": 1})");
  Completion& done = car.poll();
  EXPECT_EQ(done.calls, 0);
  car.host().run_timers(200);
  EXPECT_EQ(done.status, OEMLINK_ERROR);
}

TEST(MockBackPressure, RefusedBatchIsKeptAndOfferedAgain) {
  OneCar car;
  car.host().emit_answer = OEMLINK_RETRY;
  const int64_t first_poll_time = car.host().now_ms;
  Completion& refused = car.poll();
  EXPECT_EQ(refused.status, OEMLINK_RETRY);
  EXPECT_EQ(refused.message, "host back-pressure");
  ASSERT_EQ(car.host().emits.size(), 1u);

  car.host().emit_answer = OEMLINK_OK;
  car.host().now_ms += 60'000;
  Completion& again = car.poll();
  EXPECT_EQ(again.status, OEMLINK_OK);
  ASSERT_EQ(car.host().emits.size(), 2u);
  EXPECT_EQ(car.host().emits[1].readings, car.host().emits[0].readings);
  EXPECT_EQ(car.host().emits[1].readings[0].timestamp_ms, first_poll_time);

  car.poll();
  ASSERT_EQ(car.host().emits.size(), 3u);
  EXPECT_EQ(car.host().emits[2].readings[0].timestamp_ms, car.host().now_ms);
}

TEST(MockBackPressure, RejectedReadingsAreNotEmittedAgain) {
  OneCar car;
  car.host().emit_answer = OEMLINK_ERROR;  // some rejected, the rest taken
  EXPECT_EQ(car.poll().status, OEMLINK_OK);
  car.host().emit_answer = OEMLINK_OK;
  car.host().now_ms += 60'000;
  car.poll();
  ASSERT_EQ(car.host().emits.size(), 2u);
  EXPECT_EQ(car.host().emits[1].readings[0].timestamp_ms, car.host().now_ms);
}

}  // namespace
}  // namespace oemlink::test
