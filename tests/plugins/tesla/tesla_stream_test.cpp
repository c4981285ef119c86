// The driver-wide stream through a fake oemlink.mqtt/1 service table: subscription, mapping,
// one emit per car per window, connectivity and the poll skip / slow fallback.
#include "tesla_driver_fixture.hpp"

#include <oemlink/driver.hpp>

namespace oemlink::tesla::test {
namespace {

// A broker the test drives: records the subscription, delivers what the test publishes.
struct FakeMqtt {
  oemlink_mqtt_service table{};
  std::string host;
  uint32_t port = 0;
  std::vector<std::string> topics;
  int qos = -1;
  oemlink_mqtt_message_fn on_message = nullptr;
  oemlink_mqtt_status_fn on_status = nullptr;
  void* ctx = nullptr;
  int unsubscribed = 0;

  static FakeMqtt*& current() {
    static FakeMqtt* c = nullptr;
    return c;
  }
  FakeMqtt() {
    current() = this;
    table.struct_size = sizeof table;
    table.subscribe = [](const oemlink_host*, const oemlink_mqtt_subscription* sub,
                         oemlink_mqtt_message_fn msg, oemlink_mqtt_status_fn st,
                         void* ctx) -> uint64_t {
      FakeMqtt& m = *current();
      m.host = std::string(to_view(sub->host));
      m.port = sub->port;
      m.qos = sub->qos;
      for (size_t i = 0; i < sub->topic_count; ++i) m.topics.emplace_back(to_view(sub->topics[i]));
      m.on_message = msg;
      m.on_status = st;
      m.ctx = ctx;
      return 7;
    };
    table.unsubscribe = [](const oemlink_host*, uint64_t id) {
      if (id == 7) ++current()->unsubscribed;
    };
  }
  ~FakeMqtt() { current() = nullptr; }
  void connected(bool up) { on_status(ctx, up, to_str(up ? "" : "broker gone")); }
  void publish(const std::string& topic, const std::string& payload) {
    on_message(ctx, to_str(topic), to_str(payload));
  }
};

class TeslaStreamTest : public TeslaDriverTest {
 protected:
  void start(const std::string& extra = "") {
    create(R"(,"stream_broker_host":"broker.test","stream_broker_port":1884)" + extra);
    host().services[OEMLINK_SERVICE_MQTT] = &mqtt.table;
    car = open_car(0, kVin1, "123");
    d->descriptor()->stream_start(d->instance(), nullptr, nullptr, &Completion::record, &ended);
    mqtt.connected(true);
  }
  void publish(const std::string& vin, const std::string& field, const std::string& json) {
    mqtt.publish("telemetry/" + vin + "/v/" + field, json);
  }
  void connectivity(const std::string& vin, bool up) {
    mqtt.publish("telemetry/" + vin + "/connectivity",
                 std::string(R"({"ConnectionId":"c","Status":")") +
                     (up ? "CONNECTED" : "DISCONNECTED") +
                     R"(","CreatedAt":"2025-01-01T00:00:00Z"})");
  }
  void TearDown() override {
    if (d && mqtt.on_message) d->descriptor()->stream_stop(d->instance(), nullptr, nullptr);
  }
  FakeMqtt mqtt;
  Completion ended;
  oemlink_conn* car = nullptr;
};

TEST_F(TeslaStreamTest, SubscribesToRecordsAndConnectivity) {
  start();
  EXPECT_EQ(mqtt.host, "broker.test");
  EXPECT_EQ(mqtt.port, 1884u);
  EXPECT_EQ(mqtt.qos, 1);
  EXPECT_EQ(mqtt.topics, (std::vector<std::string>{"telemetry/+/v/#", "telemetry/+/connectivity"}));
  EXPECT_FALSE(ended.done());  // the host reconnects; the stream only ends when stopped
}

TEST_F(TeslaStreamTest, OneEventPerCarPerWindowStampedOnReceipt) {
  start();
  const int64_t t0 = host().now_ms;
  connectivity(kVin1, true);
  publish(kVin1, "Soc", "80");
  host().now_ms += 2000;
  publish(kVin1, "VehicleSpeed", R"("30")");
  publish(kVin1, "Location", R"({"latitude":37.5,"longitude":-122.1})");
  publish(kVin1, "Odometer", "null");          // invalid: skipped, counted
  publish(kVin1, "Gear", R"("ShiftStateD")");  // not mapped: counted
  EXPECT_TRUE(host().emits.empty());
  host().run_timers(8000);  // 10 s after the first datum
  ASSERT_EQ(host().emits.size(), 1u);
  const auto& e = host().emits[0];
  EXPECT_EQ(e.conn, car);
  ASSERT_EQ(e.readings.size(), 3u);
  EXPECT_EQ(e.readings[0].name, "powertrainTractionBatteryStateOfChargeCurrent");
  EXPECT_EQ(e.readings[0].timestamp_ms, t0);
  EXPECT_EQ(e.readings[1].name, "speed");
  EXPECT_NEAR(e.readings[1].number, 48.28032, 1e-9);
  EXPECT_EQ(e.readings[1].timestamp_ms, t0 + 2000);
  EXPECT_EQ(e.readings[2].kind, OEMLINK_VALUE_LOCATION);
  EXPECT_EQ(counter("stream_invalid_values"), 1u);
  EXPECT_EQ(counter("stream_unmapped_fields"), 1u);
  publish(kVin1, "Soc", "79");
  host().run_timers(10'000);
  EXPECT_EQ(host().emits.size(), 2u);
}

TEST_F(TeslaStreamTest, BadInputIsCountedAndNamed) {
  start();
  publish("5YJ3E1EA7KF999999", "Soc", "80");  // no such connection
  mqtt.publish("telemetry/" + kVin1 + "/v/Soc", "{broken");
  mqtt.publish("elsewhere/x", "1");
  publish(kVin1, "Soc", R"("eighty")");
  EXPECT_EQ(counter("stream_unknown_vins"), 1u);
  EXPECT_EQ(counter("stream_parse_errors"), 2u);
  EXPECT_EQ(counter("stream_value_errors"), 1u);
  bool named = false;
  for (const auto& l : host().logs) named |= l.message.find(kVin1 + "/Soc") != std::string::npos;
  EXPECT_TRUE(named);
}

TEST_F(TeslaStreamTest, ALiveStreamIsNotPolledASilentOneFallsBackSlowly) {
  start();
  connectivity(kVin1, true);
  Completion& skipped = d->poll(car);
  EXPECT_EQ(skipped.status, OEMLINK_OK);
  EXPECT_TRUE(host().requests.empty());
  EXPECT_EQ(counter("polls_skipped_live_stream"), 1u);

  // Silent for longer than stream_stale_after (30 min) while the list says online: polled.
  host().now_ms += 31 * 60'000;
  script_login(access1, "r1", {{"123", kVin1, "online"}});
  script(200, R"({"response":{"vin":")" + kVin1 +
                  R"(","charge_state":{"battery_level":50,"timestamp":1}}})");
  EXPECT_EQ(d->poll(car).status, OEMLINK_OK);
  EXPECT_EQ(counter("stream_fallback_polls"), 1u);
  EXPECT_EQ(counter("billed_vehicle_data"), 1u);
  // ...but slowly: the next poll within stream_fallback_poll_interval makes no call at all.
  host().now_ms += 5 * 60'000;
  const size_t before = host().requests.size();
  EXPECT_EQ(d->poll(car).status, OEMLINK_OK);
  EXPECT_EQ(host().requests.size(), before);
  EXPECT_EQ(counter("polls_skipped_stream_fallback"), 1u);
  // A datum makes it live again.
  publish(kVin1, "Soc", "49");
  const size_t sent = host().requests.size();
  d->poll(car);
  EXPECT_EQ(host().requests.size(), sent);
}

TEST_F(TeslaStreamTest, DisconnectedOrBrokerLostMeansPolling) {
  start();
  connectivity(kVin1, true);
  connectivity(kVin1, false);
  script_login(access1, "r1", {{"123", kVin1, "asleep"}});
  d->poll(car);
  EXPECT_EQ(host().requests.size(), 3u);
  EXPECT_EQ(last_state().state, OEMLINK_STATE_ASLEEP);

  connectivity(kVin1, true);
  mqtt.connected(false);  // nothing can be known about the cars while the broker is gone
  host().now_ms += 61'000;
  script(200, list_reply({{"123", kVin1, "asleep"}}));
  d->poll(car);
  EXPECT_EQ(host().requests.size(), 4u);
}

TEST_F(TeslaStreamTest, BackPressureKeepsTheBatch) {
  start();
  publish(kVin1, "Soc", "80");
  host().emit_answer = OEMLINK_RETRY;
  host().run_timers(10'000);
  host().emit_answer = OEMLINK_OK;
  host().run_timers(10'000);
  ASSERT_EQ(host().emits.size(), 2u);
  EXPECT_EQ(host().emits[1].readings.size(), 1u);
  EXPECT_EQ(counter("stream_emit_retries"), 1u);
}

TEST_F(TeslaStreamTest, ClosingACarEmitsItsOpenBatch) {
  start();
  publish(kVin1, "Soc", "80");
  d->close(car);
  EXPECT_EQ(host().emits.size(), 1u);
}

TEST_F(TeslaStreamTest, WithoutTheServiceTheStreamEndsSayingWhy) {
  create(R"(,"stream_broker_host":"broker.test")");
  d->descriptor()->stream_start(d->instance(), nullptr, nullptr, &Completion::record, &ended);
  EXPECT_EQ(ended.status, OEMLINK_ERROR);
  EXPECT_NE(ended.message.find("oemlink.mqtt/1"), std::string::npos);
  Completion no_broker;
  d.reset();
  create();
  d->descriptor()->stream_start(d->instance(), nullptr, nullptr, &Completion::record, &no_broker);
  EXPECT_NE(no_broker.message.find("stream_broker_host"), std::string::npos);
}

// The cost policy (README.md): a car whose stream said DISCONNECTED is asleep and reconnects when
// it wakes, so its polls ask nothing but one vehicle-list call per account every
// stream_asleep_check_interval (12 h by default).
TEST_F(TeslaStreamTest, AStreamThatSaysAsleepCostsOnlyASparseListCheck) {
  start();
  connectivity(kVin1, true);
  publish(kVin1, "Soc", "80");
  connectivity(kVin1, false);
  script_login(access1, "r1", {{"123", kVin1, "asleep"}});  // never listed: checked at once
  d->poll(car);
  ASSERT_EQ(host().requests.size(), 3u);
  EXPECT_EQ(last_state().state, OEMLINK_STATE_ASLEEP);
  EXPECT_EQ(counter("stream_asleep_checks"), 1u);
  // A day of 5-minute polls: one more list call, at 12 h (after a free token refresh: the
  // access token lives 8 h).
  for (int i = 1; i < 288; ++i) {  // to 23 h 55 min
    host().now_ms += 5 * 60'000;
    if (i == 144) {
      script(200, token_reply(access2, "r2"));
      script(200, list_reply({{"123", kVin1, "asleep"}}));
    }
    EXPECT_EQ(d->poll(car).status, OEMLINK_OK);
    EXPECT_EQ(host().requests.size(), i < 144 ? 3u : 5u) << "poll " << i;
  }
  EXPECT_EQ(host().requests.back().url, kRegion + "/api/1/vehicles");
  EXPECT_EQ(counter("stream_asleep_checks"), 2u);
  EXPECT_EQ(counter("polls_skipped_stream_asleep"), 286u);
  EXPECT_EQ(counter("billed_vehicle_list"), 2u);
  EXPECT_EQ(counter("billed_vehicle_data"), 0u);
  EXPECT_EQ(last_state().state, OEMLINK_STATE_ASLEEP);
  // It wakes: the CONNECTED record makes it live again, still without a call.
  connectivity(kVin1, true);
  d->poll(car);
  EXPECT_EQ(host().requests.size(), 5u);
  EXPECT_EQ(last_state().state, OEMLINK_STATE_OK);
}

// The check finds the car online although its stream still says DISCONNECTED: the stream is
// doubted (polled slowly, not trusted to say asleep) until the car streams again.
TEST_F(TeslaStreamTest, OnlineWhileTheStreamSaysAsleepIsPolledSlowlyUntilItStreams) {
  start();
  connectivity(kVin1, true);
  connectivity(kVin1, false);
  script_login(access1, "r1", {{"123", kVin1, "online"}});
  script(200, R"({"response":{"vin":")" + kVin1 +
                  R"(","charge_state":{"battery_level":50,"timestamp":1}}})");
  d->poll(car);
  EXPECT_EQ(counter("stream_silent_online"), 1u);
  EXPECT_EQ(counter("billed_vehicle_data"), 1u);
  EXPECT_EQ(last_state().state, OEMLINK_STATE_OK);
  // Within stream_fallback_poll_interval: nothing.
  host().now_ms += 5 * 60'000;
  d->poll(car);
  EXPECT_EQ(host().requests.size(), 4u);
  // Later it sleeps: the list says so, but a doubted stream does not make it quiet...
  host().now_ms += 30 * 60'000;
  script(200, list_reply({{"123", kVin1, "asleep"}}));
  d->poll(car);
  EXPECT_EQ(host().requests.size(), 5u);
  EXPECT_EQ(last_state().state, OEMLINK_STATE_ASLEEP);
  host().now_ms += 30 * 60'000;
  script(200, list_reply({{"123", kVin1, "asleep"}}));
  d->poll(car);
  EXPECT_EQ(host().requests.size(), 6u);
  // ...until it streams again: then DISCONNECTED means asleep, and asleep costs nothing.
  connectivity(kVin1, true);
  connectivity(kVin1, false);
  host().now_ms += 30 * 60'000;
  d->poll(car);
  EXPECT_EQ(host().requests.size(), 6u);
  EXPECT_EQ(counter("polls_skipped_stream_asleep"), 1u);
}

// A lost DISCONNECTED record: the stream went silent, the fallback check finds the car asleep,
// and from then on it is treated as asleep per its stream.
TEST_F(TeslaStreamTest, ASilentStreamOfASleepingCarTurnsQuiet) {
  start();
  connectivity(kVin1, true);
  publish(kVin1, "Soc", "80");
  host().now_ms += 31 * 60'000;
  script_login(access1, "r1", {{"123", kVin1, "asleep"}});
  d->poll(car);
  EXPECT_EQ(host().requests.size(), 3u);
  EXPECT_EQ(last_state().state, OEMLINK_STATE_ASLEEP);
  for (int i = 0; i < 12; ++i) {
    host().now_ms += 5 * 60'000;
    d->poll(car);
  }
  EXPECT_EQ(host().requests.size(), 3u);
  EXPECT_EQ(counter("polls_skipped_stream_asleep"), 12u);
}

// A car that never streamed is polled as without a stream (list each poll, data when online).
TEST_F(TeslaStreamTest, ACarThatNeverStreamedIsPolled) {
  start();
  script_login(access1, "r1", {{"123", kVin1, "asleep"}});
  d->poll(car);
  EXPECT_EQ(host().requests.size(), 3u);
  host().now_ms += 5 * 60'000;
  script(200, list_reply({{"123", kVin1, "online"}}));
  script(200, R"({"response":{"vin":")" + kVin1 +
                  R"(","charge_state":{"battery_level":50,"timestamp":1}}})");
  d->poll(car);
  EXPECT_EQ(host().requests.size(), 5u);
  EXPECT_EQ(counter("billed_vehicle_data"), 1u);
  EXPECT_EQ(counter("stream_fallback_polls"), 0u);
}

}  // namespace
}  // namespace oemlink::tesla::test
