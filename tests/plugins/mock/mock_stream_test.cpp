// Stream mode: batches on a repeating host timer, stop, drop and restart.
#include "tests/plugins/mock/mock_fixture.hpp"

#include <gtest/gtest.h>

namespace oemlink::test {
namespace {

TEST(MockStream, EmitsABatchEveryInterval) {
  OneCar car(R"({"stream_interval": 2000})");
  Completion& ended = car.driver->stream_start(car.conn);
  EXPECT_TRUE(car.host().emits.empty());
  EXPECT_EQ(car.host().run_timers(1999), 0);
  EXPECT_EQ(car.host().run_timers(1), 1);
  ASSERT_EQ(car.host().emits.size(), 1u);
  EXPECT_EQ(car.host().run_timers(2000), 1);
  ASSERT_EQ(car.host().emits.size(), 2u);
  EXPECT_EQ(
      car.host().emits[1].readings[0].timestamp_ms - car.host().emits[0].readings[0].timestamp_ms,
      2000);
  EXPECT_EQ(ended.calls, 0);
}

TEST(MockStream, StopCancelsTheTimerAndEndsNothing) {
  OneCar car;
  Completion& ended = car.driver->stream_start(car.conn);
  car.host().run_timers(1000);
  ASSERT_EQ(car.host().emits.size(), 1u);
  car.driver->stream_stop(car.conn);
  EXPECT_EQ(car.host().pending_timers(), 0u);
  EXPECT_EQ(car.host().cancelled_timers, 1);
  car.host().run_timers(10'000);
  EXPECT_EQ(car.host().emits.size(), 1u);
  EXPECT_EQ(ended.calls, 0);
}

TEST(MockStream, ErrorRateDropsTheStreamWithRetry) {
  OneCar car(R"({"error_rate": 1})");
  Completion& ended = car.driver->stream_start(car.conn);
  car.host().run_timers(1000);
  EXPECT_EQ(ended.calls, 1);
  EXPECT_EQ(ended.status, OEMLINK_RETRY);
  EXPECT_EQ(ended.message, "mock: stream dropped");
  EXPECT_TRUE(car.host().emits.empty());
  EXPECT_EQ(car.host().pending_timers(), 0u);
}

TEST(MockStream, RestartsAfterADrop) {
  OneCar car(R"({"seed": 4, "error_rate": 0.5})");
  int drops = 0;
  Completion* ended = &car.driver->stream_start(car.conn);
  for (int tick = 0; tick < 200; ++tick) {
    car.host().run_timers(1000);
    if (ended->calls == 1) {
      ++drops;
      ended = &car.driver->stream_start(car.conn);  // the host restarts with back-off
    }
    EXPECT_LE(ended->calls, 1);
  }
  EXPECT_GT(drops, 50);
  EXPECT_GT(car.host().emits.size(), 50u);
}

TEST(MockStream, BackPressureRedeliversOnTheNextTick) {
  OneCar car;
  car.driver->stream_start(car.conn);
  car.host().emit_answer = OEMLINK_RETRY;
  car.host().run_timers(1000);
  car.host().emit_answer = OEMLINK_OK;
  car.host().run_timers(1000);
  ASSERT_EQ(car.host().emits.size(), 2u);
  EXPECT_EQ(car.host().emits[1].readings, car.host().emits[0].readings);
  car.driver->stream_stop(car.conn);
}

TEST(MockStream, CloseWithoutStopCancelsTheTimer) {
  OneCar car;
  car.driver->stream_start(car.conn);
  car.host().run_timers(1000);
  car.driver->close(car.conn);
  EXPECT_EQ(car.host().pending_timers(), 0u);
  car.host().run_timers(5000);
  EXPECT_EQ(car.host().emits.size(), 1u);
}

TEST(MockStream, TimerThatRacedStopFiresHarmlesslyAfterClose) {
  // A host can lose the race between timer_cancel and a firing timer: the callback then runs
  // after stream_stop and close returned, and must touch neither (ASan checks the "neither").
  OneCar car;
  Completion& ended = car.driver->stream_start(car.conn);
  car.host().cancel_loses_race = true;
  car.driver->stream_stop(car.conn);
  car.driver->close(car.conn);
  EXPECT_EQ(car.host().pending_timers(), 1u);
  EXPECT_EQ(car.host().run_timers(1000), 1);
  EXPECT_TRUE(car.host().emits.empty());
  EXPECT_EQ(car.host().pending_timers(), 0u) << "a stopped stream must not re-arm";
  EXPECT_EQ(ended.calls, 0);
}

}  // namespace
}  // namespace oemlink::test
