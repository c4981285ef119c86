#include "core/pipeline/pipeline.hpp"

#include "core/pipeline/json_writer.hpp"
#include "core/pipeline/reading_validator.hpp"
#include "core/pipeline/signal_catalogue.hpp"

#include <oemlink/driver.hpp>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include <regex>

namespace oemlink::pipeline {
namespace {

constexpr int64_t kNow = 1'741'089'660'000;  // 2025-03-04T12:01:00Z

using oemlink::Reading;

TEST(SignalCatalogue, KnowsTheCoreSignalsWithTheirUnits) {
  struct {
    const char* name;
    SignalKind kind;
    const char* unit;
  } expected[] = {
      {"speed", SignalKind::number, "km/h"},
      {"powertrainTransmissionTravelledDistance", SignalKind::number, "km"},
      {"currentLocationCoordinates", SignalKind::location, ""},
      {"powertrainTractionBatteryStateOfChargeCurrent", SignalKind::number, "percent"},
      {"powertrainTractionBatteryChargingIsCharging", SignalKind::boolean, ""},
      {"chassisAxleRow1WheelLeftTirePressure", SignalKind::number, "kPa"},
      {"powertrainTractionBatteryCurrentPower", SignalKind::number, "W"},
  };
  for (auto& e : expected) {
    const SignalSpec* s = find_signal(e.name);
    ASSERT_NE(s, nullptr) << e.name;
    EXPECT_EQ(s->kind, e.kind) << e.name;
    EXPECT_STREQ(s->unit, e.unit) << e.name;
  }
  EXPECT_EQ(find_signal("Vehicle.Speed"), nullptr);
  EXPECT_EQ(find_signal("spee"), nullptr);
  EXPECT_GT(all_signals().size(), 1000u);
}

TEST(ReadingValidator, AcceptsGoodReadingsAndNamesWhatIsWrongWithBadOnes) {
  EXPECT_EQ(validate_reading(Reading::number("speed", kNow, 55), kNow), "");
  EXPECT_EQ(
      validate_reading(Reading::location("currentLocationCoordinates", kNow, 52.5, 13.4), kNow),
      "");
  EXPECT_EQ(validate_reading(
                Reading::number("powertrainTractionBatteryChargingIsCharging", kNow, 1), kNow),
            "");
  struct Case {
    oemlink_reading r;
    const char* fragment;
  } cases[] = {
      {Reading::number("warpFactor", kNow, 9), "unknown signal \"warpFactor\""},
      {Reading::number("speed", kNow, NAN), "not a finite number"},
      {Reading::number("speed", kNow + 6 * 60 * 1000, 1), "in the future"},
      {Reading::number("speed", 1'741'089'660, 1), "before 2000"},
      {Reading::number("powertrainTractionBatteryStateOfChargeCurrent", kNow, 101),
       "above the maximum 100"},
      {Reading::number("powertrainTractionBatteryChargingIsCharging", kNow, 0.5), "0 or 1"},
      {Reading::text("speed", kNow, "fast"), "expects a number"},
      {Reading::number("currentLocationCoordinates", kNow, 1), "expects a location"},
      {Reading::location("currentLocationCoordinates", kNow, 91, 0), "latitude 91"},
      {Reading::location("currentLocationCoordinates", kNow, 0, -181), "longitude -181"},
      {Reading::text("bodyBodyType", kNow, "caf\xe9"), "not valid UTF-8"},
      {Reading::text("bodyBodyType", kNow, "\xc0\xaf"), "not valid UTF-8"},
  };
  for (auto& c : cases) {
    std::string why = validate_reading(c.r, kNow);
    EXPECT_NE(why.find(c.fragment), std::string::npos) << why;
  }
}

TEST(JsonWriter, FormatsTimesNumbersAndStrings) {
  std::string s;
  append_rfc3339_ms(s, kNow);
  EXPECT_EQ(s, "\"2025-03-04T12:01:00.000Z\"");
  s.clear();
  append_rfc3339_ms(s, 951'782'400'123);  // leap day 2000
  EXPECT_EQ(s, "\"2000-02-29T00:00:00.123Z\"");
  s.clear();
  append_json_number(s, -0.0);
  s += ",";
  append_json_number(s, 55);
  s += ",";
  append_json_number(s, 0.1);
  EXPECT_EQ(s, "0,55,0.1");
  s.clear();
  append_json_string(s, "a\"b\\c\n\x01");
  EXPECT_EQ(s, "\"a\\\"b\\\\c\\n\\u0001\"");
}

struct RecordingSink : EventSink {
  std::vector<Event> events;
  bool accept = true;
  std::string_view name() const override { return "rec"; }
  bool append(const Event& e) override {
    if (!accept) return false;
    events.push_back(e);
    return true;
  }
  void flush() override {}
};

ConnectionIdentity car() {
  return {.id = "car-1",
          .vin = "5YJ3E1EA7KF000001",
          .vehicle_token_id = 42,
          .synthetic_token_id = 7,
          .key_child = 3};
}

TEST(EventBuilder, BuildsACloudEventWhoseDataBytesAreEmbeddedVerbatim) {
  EventBuilder b(EnvelopeSettings{});
  oemlink_reading rs[] = {Reading::number("speed", kNow - 1000, 55.5),
                          Reading::location("currentLocationCoordinates", kNow, 52.52, 13.405)};
  Event ev = b.build(car(), rs, kNow);
  auto v = boost::json::parse(ev.json).as_object();
  EXPECT_EQ(v.at("specversion"), "1.0");
  EXPECT_EQ(v.at("type"), "dimo.status");
  EXPECT_EQ(v.at("dataversion"), "default/v1.0");
  EXPECT_EQ(v.at("datacontenttype"), "application/json");
  EXPECT_EQ(v.at("source"), "0xc4035Fecb1cc906130423EF05f9C20977F643722");
  EXPECT_EQ(v.at("subject"), "did:erc721:137:0xbA5738a18d83D41847dfFbDC6101d37C69c9B0cF:42");
  EXPECT_EQ(v.at("producer"), "did:erc721:137:0x4804e8D1661cd1a1e5dDdE1ff458A7f878c0aC6D:7");
  EXPECT_EQ(v.at("time"), "2025-03-04T12:01:00.000Z");
  EXPECT_TRUE(std::regex_match(
      std::string(v.at("id").as_string()),
      std::regex("[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")));
  // The DIS field rule.
  std::regex field("^[a-zA-Z0-9\\-_/,. :]+$");
  for (const char* k : {"id", "type", "subject", "producer", "dataversion"})
    EXPECT_TRUE(std::regex_match(std::string(v.at(k).as_string()), field)) << k;
  EXPECT_EQ(boost::json::parse(ev.data()), v.at("data"));  // data() addresses the embedded value
  EXPECT_EQ(ev.data(),
            R"({"signals":[{"name":"speed","timestamp":"2025-03-04T12:00:59.000Z","value":55.5},)"
            R"({"name":"currentLocationCoordinates","timestamp":"2025-03-04T12:01:00.000Z",)"
            R"("value":{"latitude":52.52,"longitude":13.405}}],"vin":"5YJ3E1EA7KF000001"})");
  EXPECT_FALSE(v.contains("signature"));
}

TEST(EventBuilder, SignsExactlyTheDataBytesWhenASignerIsPresent) {
  struct FakeSigner : DataSigner {
    std::string seen;
    uint32_t child = 0;
    std::string sign(uint32_t c, std::string_view data) override {
      seen = data;
      child = c;
      return "0x" + std::string(130, 'a');
    }
  } signer;
  EventBuilder b(EnvelopeSettings{}, &signer);
  oemlink_reading rs[] = {Reading::number("speed", kNow, 1)};
  Event ev = b.build(car(), rs, kNow);
  EXPECT_EQ(signer.seen, ev.data());
  EXPECT_EQ(signer.child, 3u);
  auto v = boost::json::parse(ev.json).as_object();
  EXPECT_EQ(v.at("signature").as_string().size(), 132u);
}

TEST(EventBuilder, IdsAreUnique) {
  EventBuilder b(EnvelopeSettings{});
  oemlink_reading rs[] = {Reading::number("speed", kNow, 1)};
  std::set<std::string> ids;
  for (int i = 0; i < 10000; ++i) ids.insert(b.build(car(), rs, kNow).id);
  EXPECT_EQ(ids.size(), 10000u);
}

TEST(Pipeline, RejectsBadReadingsCountsThemAndKeepsTheGoodOnes) {
  MetricsRegistry m;
  RecordingSink sink;
  Pipeline p(EventBuilder(EnvelopeSettings{}), {&sink}, m);
  oemlink_reading rs[] = {Reading::number("speed", kNow, 10), Reading::number("bogus", kNow, 1),
                          Reading::number("speed", kNow, INFINITY)};
  auto r = p.submit(car(), rs, kNow);
  EXPECT_EQ(r.status, OEMLINK_ERROR);
  EXPECT_EQ(r.accepted, 1u);
  EXPECT_EQ(r.rejected, 2u);
  ASSERT_EQ(sink.events.size(), 1u);
  EXPECT_EQ(m.counter("oemlink_pipeline_readings_rejected_total", "").value(), 2u);
  EXPECT_EQ(m.counter("oemlink_pipeline_readings_accepted_total", "").value(), 1u);
  // All rejected: nothing is built.
  oemlink_reading bad[] = {Reading::number("bogus", kNow, 1)};
  EXPECT_EQ(p.submit(car(), bad, kNow).status, OEMLINK_ERROR);
  EXPECT_EQ(sink.events.size(), 1u);
}

TEST(Pipeline, AFailingSinkMeansRetryAndNothingTaken) {
  MetricsRegistry m;
  RecordingSink sink;
  sink.accept = false;
  Pipeline p(EventBuilder(EnvelopeSettings{}), {&sink}, m);
  oemlink_reading rs[] = {Reading::number("speed", kNow, 10)};
  auto r = p.submit(car(), rs, kNow);
  EXPECT_EQ(r.status, OEMLINK_RETRY);
  EXPECT_EQ(r.accepted, 0u);
  EXPECT_EQ(m.counter("oemlink_pipeline_events_backpressured_total", "").value(), 1u);
}

TEST(Pipeline, MirrorSinkFailuresAreCountedNotRetried) {
  MetricsRegistry m;
  RecordingSink primary, mirror;
  mirror.accept = false;
  Pipeline p(EventBuilder(EnvelopeSettings{}), {&primary, &mirror}, m);
  oemlink_reading rs[] = {Reading::number("speed", kNow, 10)};
  auto r = p.submit(car(), rs, kNow);
  EXPECT_EQ(r.status, OEMLINK_OK);  // a retry would duplicate the event in the primary
  EXPECT_EQ(primary.events.size(), 1u);
  EXPECT_EQ(m.counter("oemlink_pipeline_mirror_sink_failures_total", "").value(), 1u);
}

TEST(Pipeline, EventsDisWouldRefuseAreRejectedWithTheReasonAndCounted) {
  MetricsRegistry m;
  RecordingSink sink;
  EnvelopeSettings bad_contract;
  bad_contract.vehicle_contract = "0xbA57<script>";
  Pipeline p(EventBuilder(bad_contract), {&sink}, m);
  oemlink_reading rs[] = {Reading::number("speed", kNow, 10)};
  auto r = p.submit(car(), rs, kNow);
  EXPECT_EQ(r.status, OEMLINK_ERROR);
  EXPECT_EQ(r.accepted, 0u);
  EXPECT_TRUE(sink.events.empty());
  EXPECT_EQ(m.counter("oemlink_pipeline_events_rejected_total", "").value(), 1u);

  EnvelopeSettings huge_source;
  huge_source.source = std::string(9000, 'a');
  Pipeline p2(EventBuilder(huge_source), {&sink}, m);
  EXPECT_EQ(p2.submit(car(), rs, kNow).status, OEMLINK_ERROR);
  EXPECT_EQ(m.counter("oemlink_pipeline_events_rejected_total", "").value(), 2u);
  EXPECT_TRUE(sink.events.empty());
}

TEST(Pipeline, ASignerFailureMeansRetryNotLoss) {
  struct DownSigner : DataSigner {
    std::string sign(uint32_t, std::string_view) override {
      throw std::runtime_error("keyd: connection refused");
    }
  } signer;
  MetricsRegistry m;
  RecordingSink sink;
  Pipeline p(EventBuilder(EnvelopeSettings{}, &signer), {&sink}, m);
  oemlink_reading rs[] = {Reading::number("speed", kNow, 10)};
  EXPECT_EQ(p.submit(car(), rs, kNow).status, OEMLINK_RETRY);
  EXPECT_EQ(m.counter("oemlink_pipeline_sign_failures_total", "").value(), 1u);
  EXPECT_TRUE(sink.events.empty());
}

}  // namespace
}  // namespace oemlink::pipeline
