// The dimo_https sink's hold: an event stamped further ahead of true time than the ingest takes
// is held (kept in the outbox), not sent to be pruned.
#include "core/uplink/event_time.hpp"
#include "core/uplink/https_deliverer.hpp"

#include <gtest/gtest.h>

namespace oemlink::uplink {
namespace {

constexpr int64_t kTrue = 1'741'089'660'000;  // 2025-03-04T12:01:00Z

std::string event_at(std::string_view time) {
  return R"({"specversion":"1.0","id":"x","source":"0x1","type":"dimo.status","time":")" +
         std::string(time) +
         R"(","data":{"signals":[{"name":"speed","timestamp":"2030-01-01T00:00:00Z","value":1}]}})";
}

TEST(EventTime, ReadsTheEnvelopeTime) {
  EXPECT_EQ(event_time_ms(event_at("2025-03-04T12:01:00.000Z")), kTrue);
  EXPECT_EQ(event_time_ms(event_at("2025-03-04T12:01:00.25Z")), kTrue + 250);
  EXPECT_EQ(event_time_ms(event_at("2025-03-04T12:01:00Z")), kTrue);
  EXPECT_FALSE(event_time_ms(event_at("2025-03-04 12:01:00Z")));
  EXPECT_FALSE(event_time_ms(event_at("2025-03-04T12:01:00+01:00")));
  EXPECT_FALSE(event_time_ms(R"({"id":"x"})"));
}

TEST(HttpsHold, SendsWhatTheIngestTakesAndHoldsWhatItWouldPrune) {
  const auto at = [](int64_t ahead_ms) {
    const int64_t t = kTrue + ahead_ms;
    char buf[40];
    std::time_t s = t / 1000;
    std::tm tm{};
    gmtime_r(&s, &tm);
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    return event_at(std::string(buf) + "." + std::to_string(1000 + t % 1000).substr(1) + "Z");
  };
  EXPECT_EQ(HttpsDeliverer::hold_for_ms(at(0), kTrue), 0);
  EXPECT_EQ(HttpsDeliverer::hold_for_ms(at(-3'600'000), kTrue), 0);
  EXPECT_EQ(HttpsDeliverer::hold_for_ms(at(290'000), kTrue), 0);
  // Within the margin below DIS's 5 minutes: held until it is 4 min 55 s ahead.
  EXPECT_EQ(HttpsDeliverer::hold_for_ms(at(298'000), kTrue), 3'000);
  EXPECT_EQ(HttpsDeliverer::hold_for_ms(at(3'600'000), kTrue), 3'600'000 - 295'000);
  // Unreadable time: not ours to judge (the peer says 400, it is dead-lettered).
  EXPECT_EQ(HttpsDeliverer::hold_for_ms(R"({"id":"x"})", kTrue), 0);
}

}  // namespace
}  // namespace oemlink::uplink
