// The mock's webhook through the raw C ABI: readings emitted for the named connection before the
// answer, and each bad delivery answered with its status.
#include "mock_fixture.hpp"

#include <gtest/gtest.h>

namespace oemlink::test {
namespace {

struct Answer {
  int status = 0;
  std::string body, content_type;
  int calls = 0;
};

void OEMLINK_CALL record(void* ctx, const oemlink_http_response* r) {
  auto* a = static_cast<Answer*>(ctx);
  ++a->calls;
  a->status = r->http_status;
  a->body.assign(r->body.data, r->body.size);
  if (r->header_count) a->content_type.assign(r->headers[0].value.data, r->headers[0].value.size);
}

Answer deliver(DriverUnderTest& d, std::string_view body) {
  oemlink_http_request req{};
  req.struct_size = sizeof req;
  req.method = {"POST", 4};
  req.url = {"/webhooks/mock", 14};
  req.body = {body.data(), body.size()};
  Answer a;
  EXPECT_EQ(d.descriptor()->webhook(d.instance(), &req, &record, &a), OEMLINK_OK);
  EXPECT_EQ(a.calls, 1);
  return a;
}

TEST(MockWebhook, EmitsTheReadingsForTheConnectionThenAnswers200) {
  OneCar car(R"({"webhook": true})");
  ASSERT_TRUE(car.conn);
  Answer a = deliver(*car.driver, R"({"connection":"car-1","readings":[
      {"name":"speed","value":12.5,"timestamp_ms":1700000000000},
      {"name":"currentLocationCoordinates","latitude":52.5,"longitude":13.4,"timestamp_ms":1700000000001},
      {"name":"powertrainType","text":"BEV","timestamp_ms":1700000000002}]})");
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.body, R"({"ok":true})");
  EXPECT_EQ(a.content_type, "application/json");
  ASSERT_EQ(car.driver->host.emits.size(), 1u);
  const RecordedEmit& e = car.driver->host.emits[0];
  EXPECT_EQ(e.conn, car.conn);
  ASSERT_EQ(e.readings.size(), 3u);
  EXPECT_EQ(e.readings[0].name, "speed");
  EXPECT_EQ(e.readings[0].number, 12.5);
  EXPECT_EQ(e.readings[0].timestamp_ms, 1700000000000);
  EXPECT_EQ(e.readings[1].kind, OEMLINK_VALUE_LOCATION);
  EXPECT_EQ(e.readings[1].latitude, 52.5);
  EXPECT_EQ(e.readings[2].text, "BEV");
}

TEST(MockWebhook, BadDeliveriesGetTheirStatusAndEmitNothing) {
  OneCar car(R"({"webhook": true})");
  ASSERT_TRUE(car.conn);
  EXPECT_EQ(deliver(*car.driver, "{not json").status, 400);
  EXPECT_EQ(deliver(*car.driver, R"({"readings":[]})").status, 400);
  EXPECT_EQ(deliver(*car.driver, R"({"connection":"car-1","readings":[{"value":1}]})").status, 400);
  EXPECT_EQ(deliver(*car.driver, R"({"connection":"car-9","readings":[]})").status, 404);
  EXPECT_TRUE(car.driver->host.emits.empty());
}

TEST(MockWebhook, BackPressureIs503) {
  OneCar car(R"({"webhook": true})");
  ASSERT_TRUE(car.conn);
  car.driver->host.emit_answer = OEMLINK_RETRY;
  Answer a =
      deliver(*car.driver, R"({"connection":"car-1","readings":[{"name":"speed","value":1}]})");
  EXPECT_EQ(a.status, 503);
}

TEST(MockWebhook, OffByDefaultAndForgetsClosedConnections) {
  OneCar off;
  ASSERT_TRUE(off.conn);
  EXPECT_EQ(deliver(*off.driver, R"({"connection":"car-1","readings":[]})").status, 404);
  OneCar on(R"({"webhook": true})");
  ASSERT_TRUE(on.conn);
  on.driver->close(on.conn);
  EXPECT_EQ(deliver(*on.driver, R"({"connection":"car-1","readings":[]})").status, 404);
}

}  // namespace
}  // namespace oemlink::test
