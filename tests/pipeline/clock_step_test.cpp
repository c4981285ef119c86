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
  EventBuilder b(EnvelopeSettings{});
  oemlink_reading ahead[] = {Reading::number("speed", kTrue + kHour, 10)};
  oemlink_reading back[] = {Reading::number("speed", kTrue + 1000, 11)};
  oemlink_reading later[] = {Reading::number("speed", kTrue + kHour + 5000, 12)};
  Event first = b.build(conn("car-1"), ahead);
  Event second = b.build(conn("car-1"), back);  // the clock was stepped back by an hour
  EXPECT_EQ(first.time_ms, kTrue + kHour);
  EXPECT_EQ(second.time_ms, kTrue + kHour) << "time stands still until the readings catch up";
  EXPECT_EQ(time_of(second), "2025-03-04T13:01:00.000Z");
  // The readings themselves keep the time they were measured at.
  EXPECT_NE(second.json.find("\"timestamp\":\"2025-03-04T12:01:01.000Z\""), std::string::npos);
  EXPECT_EQ(b.build(conn("car-1"), later).time_ms, kTrue + kHour + 5000);
  // Another connection has its own history.
  EXPECT_EQ(b.build(conn("car-2"), back).time_ms, kTrue + 1000);
}

}  // namespace
}  // namespace oemlink::pipeline
