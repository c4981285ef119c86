// What a stepped wall clock must not do to readings and events: readings are judged "in the
// future" against the latest of our wall clock, true time and the time shown to drivers, and a
// connection's event times never run backwards.
#include "core/pipeline/event_builder.hpp"
#include "core/pipeline/reading_validator.hpp"

#include <oemlink/driver.hpp>

#include <gtest/gtest.h>
#include <boost/json.hpp>

namespace oemlink::pipeline {
namespace {

constexpr int64_t kTrue = 1'741'089'660'000;  // 2025-03-04T12:01:00Z, true time
constexpr int64_t kHour = 3'600'000;
constexpr int64_t kMinute = 60'000;

using oemlink::Reading;

ConnectionIdentity conn(std::string_view id) {
  return {.id = id, .vin = "", .vehicle_token_id = 42, .synthetic_token_id = 7, .key_child = 1};
}

TEST(FutureCheck, OurClockSteppedBackDoesNotRejectReadingsStampedAtTrueTime) {
  const int64_t wall = kTrue - 2 * kHour;  // the step of the issue: wall clock 2 h behind
  const oemlink_reading r = Reading::number("speed", kTrue, 50);
  // Judged against the wall clock alone, as before: refused as 7200 s in the future.
  EXPECT_NE(validate_reading(r, wall).find("7200 s in the future"), std::string::npos);
  // Judged against corrected time: taken.
  EXPECT_EQ(validate_reading(r, future_reference_ms(wall, kTrue, kTrue)), "");
}

TEST(FutureCheck, OurClockSteppedForwardStillTakesReadingsStampedFromIt) {
  // A driver that stamps from the local clock while it is 1 h ahead: our clock's fault, not the
  // reading's. Taken (the dimo_https sink holds the event until the ingest would take it).
  const int64_t wall = kTrue + kHour;
  EXPECT_EQ(
      validate_reading(Reading::number("speed", wall, 50), future_reference_ms(wall, kTrue, wall)),
      "");
}

TEST(FutureCheck, ReadingsStampedWhileOurClockWasAheadAreTakenAfterItIsPutRight) {
  // The driver stamped from the time the host showed it while the clock was 1 h ahead; the clock
  // is right again now. Still our clock's fault: taken (the sink holds the event).
  const int64_t shown = kTrue + kHour;
  EXPECT_EQ(validate_reading(Reading::number("speed", shown, 50),
                             future_reference_ms(kTrue, kTrue, shown)),
            "");
  EXPECT_NE(validate_reading(Reading::number("speed", shown, 50), kTrue).find("in the future"),
            std::string::npos);
}

TEST(FutureCheck, ReadingsReallyInTheFutureAreStillRejected) {
  // Ahead of both clocks by more than 5 minutes, whichever way our clock is off.
  for (int64_t wall : {kTrue, kTrue - 2 * kHour, kTrue + 10 * kMinute}) {
    const int64_t ref = future_reference_ms(wall, kTrue, std::max(wall, kTrue));
    EXPECT_NE(validate_reading(Reading::number("speed", ref + 6 * kMinute, 50), ref)
                  .find("360 s in the future"),
              std::string::npos)
        << "wall - true = " << (wall - kTrue) / 1000 << " s";
    EXPECT_EQ(validate_reading(Reading::number("speed", ref + 4 * kMinute, 50), ref), "");
  }
}

TEST(FutureCheck, ReferenceIsTheLatestClock) {
  EXPECT_EQ(future_reference_ms(kTrue - kHour, kTrue, 0), kTrue);
  EXPECT_EQ(future_reference_ms(kTrue + kHour, kTrue, kTrue), kTrue + kHour);
  EXPECT_EQ(future_reference_ms(kTrue, kTrue, kTrue + kMinute), kTrue + kMinute);
  EXPECT_EQ(future_reference_ms(kTrue, kTrue, kTrue), kTrue);
}

std::string time_of(const Event& ev) {
  return std::string(boost::json::parse(ev.json).as_object().at("time").as_string());
}

TEST(EventTime, NeverRunsBackwardsForOneConnectionAcrossAStep) {
  // Our wall clock was 1 h ahead and known to be (true time kTrue): a driver stamped readings
  // from it, then from true time once the clock was stepped back. Both within the hold's bound
  // of the later event's true time, so time stands still until the readings catch up.
  EventBuilder b(EnvelopeSettings{});
  const int64_t now = kTrue + kHour;  // true time of both events
  oemlink_reading ahead[] = {Reading::number("speed", kTrue + kHour, 10)};
  oemlink_reading back[] = {Reading::number("speed", kTrue + kHour - 3000, 11)};
  oemlink_reading later[] = {Reading::number("speed", kTrue + kHour + 5000, 12)};
  Event first = b.build(conn("car-1"), ahead, now);
  Event second = b.build(conn("car-1"), back, now);
  EXPECT_EQ(first.time_ms, kTrue + kHour);
  EXPECT_EQ(second.time_ms, kTrue + kHour) << "time stands still until the readings catch up";
  EXPECT_EQ(time_of(second), "2025-03-04T13:01:00.000Z");
  // The readings themselves keep the time they were measured at.
  EXPECT_NE(second.json.find("\"timestamp\":\"2025-03-04T13:00:57.000Z\""), std::string::npos);
  EXPECT_EQ(b.build(conn("car-1"), later, now + 5000).time_ms, kTrue + kHour + 5000);
  // Another connection has its own history.
  EXPECT_EQ(b.build(conn("car-2"), back, now).time_ms, kTrue + kHour - 3000);
}

// The host started with its clock an hour ahead and nothing known of it: the first event was
// stamped an hour ahead. Once the skew estimate holds, true time is an hour earlier. The
// connection's later events are not kept an hour ahead (and held by the sink) for that hour:
// held at most kMaxHeldAheadMs ahead of true time, then they follow the readings.
TEST(EventTime, IsNeverHeldMoreThanAFewSecondsAheadOfTrueTime) {
  EventBuilder b(EnvelopeSettings{});
  oemlink_reading stamped_ahead[] = {Reading::number("speed", kTrue + kHour, 10)};
  EXPECT_EQ(b.build(conn("car-1"), stamped_ahead, kTrue + kHour).time_ms, kTrue + kHour);
  // The estimate swung back: true time is kTrue.
  oemlink_reading now_right[] = {Reading::number("speed", kTrue + 1000, 11)};
  Event capped = b.build(conn("car-1"), now_right, kTrue + 1000);
  EXPECT_EQ(capped.time_ms, kTrue + 1000 + kMaxHeldAheadMs);
  EXPECT_EQ(time_of(capped), "2025-03-04T12:01:06.000Z");
  // From there it never runs backwards again: held while within the bound, then the readings.
  oemlink_reading next[] = {Reading::number("speed", kTrue + 2000, 12)};
  EXPECT_EQ(b.build(conn("car-1"), next, kTrue + 2000).time_ms, kTrue + 1000 + kMaxHeldAheadMs);
  oemlink_reading caught_up[] = {Reading::number("speed", kTrue + 7000, 13)};
  EXPECT_EQ(b.build(conn("car-1"), caught_up, kTrue + 7000).time_ms, kTrue + 7000);
  // A reading itself ahead of true time keeps its own time: only the hold is bounded.
  oemlink_reading own_ahead[] = {Reading::number("speed", kTrue + 4 * kMinute, 14)};
  EXPECT_EQ(b.build(conn("car-1"), own_ahead, kTrue + 8000).time_ms, kTrue + 4 * kMinute);
}

// Closed connections are forgotten: the builder's memory is as big as the open fleet, not as
// every connection ever served.
TEST(EventTime, AClosedConnectionsHistoryIsForgotten) {
  EventBuilder b(EnvelopeSettings{});
  oemlink_reading r[] = {Reading::number("speed", kTrue, 10)};
  for (int i = 0; i < 100; ++i) b.build(conn("car-" + std::to_string(i)), r, kTrue);
  EXPECT_EQ(b.remembered(), 100u);
  for (int i = 0; i < 100; i += 2) b.forget("car-" + std::to_string(i));
  b.forget("never-seen");
  EXPECT_EQ(b.remembered(), 50u);
  // Served again after a close: it starts afresh, as after a restart.
  oemlink_reading older[] = {Reading::number("speed", kTrue - 2000, 11)};
  EXPECT_EQ(b.build(conn("car-0"), older, kTrue).time_ms, kTrue - 2000);
  EXPECT_EQ(b.build(conn("car-1"), older, kTrue).time_ms, kTrue);
}

}  // namespace
}  // namespace oemlink::pipeline
