// Webhooks through the built driver's webhook() on the test kit's fake host.
#include "smartcar_fixture.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <gtest/gtest.h>

namespace oemlink::smartcar::test {
namespace {

constexpr std::string_view kChallengeMac =
    "9baf5a7464bd86740ad5a06e439dcf535a075022ed2c92d74efacf646d79328e";

TEST(SmartcarWebhook, VerifyHandshakePayload4) {
  OneCar car;
  const std::string body =
      R"({"eventId":"e-verify","eventType":"VERIFY","data":{"challenge":"challenge"},"meta":{"version":"4.0","webhookId":"w","webhookName":"n","deliveryId":"d","deliveredAt":1780222662654,"mode":"TEST"}})";
  WebhookAnswer a = deliver(*car.driver, body, {{"Content-Type", "application/json"}});
  EXPECT_EQ(a.returned, OEMLINK_OK);
  EXPECT_EQ(a.calls, 1);
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.content_type, "application/json");
  EXPECT_EQ(a.body, R"({"challenge":")" + std::string(kChallengeMac) + R"("})");
  // Signed the same way, it is answered the same way.
  WebhookAnswer s = deliver_signed(*car.driver, body);
  EXPECT_EQ(s.status, 200);
  EXPECT_EQ(car.counter("webhook_verify"), 2u);
}

TEST(SmartcarWebhook, VerifyHandshakeLegacy2) {
  OneCar car;
  WebhookAnswer a = deliver(
      *car.driver,
      R"({"version":"2.0","webhookId":"5a8e5e38","eventName":"verify","payload":{"challenge":"challenge"}})",
      {});
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.body, R"({"challenge":")" + std::string(kChallengeMac) + R"("})");
}

TEST(SmartcarWebhook, ChallengeCannotBeUsedAsASigningOracle) {
  OneCar car;
  // An attacker asks for HMAC(amt, <a delivery of its own>): refused, so it never learns a valid
  // SC-Signature.
  const std::string forged = vehicle_state_4("e-1", kVehicle, webhook_signals_4());
  boost::json::object verify{{"eventType", "VERIFY"},
                             {"data", boost::json::object{{"challenge", forged}}}};
  WebhookAnswer a = deliver(*car.driver, boost::json::serialize(verify), {});
  EXPECT_EQ(a.status, 400);
  EXPECT_EQ(a.body.find(hmac_sha256_hex("amt", forged)), std::string::npos);
  EXPECT_EQ(car.counter("webhook_bad_challenge"), 1u);
}

// Anyone who reaches the listener decides how often a request is refused: one unsigned request
// per log line let a single connection write megabytes of log a second into the data dir.
TEST(SmartcarWebhook, RefusalsAreCountedEachButLoggedAFewTimesAMinute) {
  OneCar car;
  auto webhook_lines = [&] {
    size_t n = 0;
    for (const auto& l : car.host().logs)
      if (l.message.starts_with("smartcar webhook:")) ++n;
    return n;
  };
  for (int i = 0; i < 100; ++i)
    EXPECT_EQ(deliver(*car.driver, R"({"eventType":"VEHICLE_STATE"})", {}).status, 401);
  EXPECT_EQ(car.counter("webhook_unsigned"), 100u);
  EXPECT_EQ(webhook_lines(), 20u);

  // A minute later lines come again, the first saying how many were left out.
  car.host().now_ms += 60'000;
  EXPECT_EQ(deliver(*car.driver, R"({"eventType":"VEHICLE_STATE"})", {}).status, 401);
  ASSERT_EQ(webhook_lines(), 21u);
  EXPECT_NE(car.host().logs.back().message.find("80 more such line(s) left out"), std::string::npos)
      << car.host().logs.back().message;
}

TEST(SmartcarWebhook, ValidDeliveryIsEmittedThenAcknowledged) {
  OneCar car;
  WebhookAnswer a =
      deliver_signed(*car.driver, vehicle_state_4("e-1", kVehicle, webhook_signals_4()));
  EXPECT_EQ(a.status, 200) << a.body;
  ASSERT_EQ(car.host().emits.size(), 1u);
  EXPECT_EQ(car.host().emits[0].conn, car.conn);
  const RecordedEmit& e = car.host().emits[0];
  ASSERT_EQ(e.readings.size(), 2u);
  const RecordedReading* odo = find_reading(e, "powertrainTransmissionTravelledDistance");
  ASSERT_TRUE(odo);
  EXPECT_DOUBLE_EQ(odo->number, 16342);
  EXPECT_EQ(odo->timestamp_ms, 1780222611098);
  EXPECT_EQ(car.counter("signals_skipped_status"), 1u);
  EXPECT_EQ(car.counter("webhook_triggers"), 1u);
}

TEST(SmartcarWebhook, DocsTriggerShapeAndVehicleIdFallback) {
  OneCar car;
  const std::string body =
      R"({"eventId":"e-docs","eventType":"VEHICLE_STATE","vehicleId":")" + std::string(kVehicle) +
      R"(","data":{"user":{"id":"u"},"vehicle":{"make":"TESLA","model":"Model 3","year":2020},"triggers":[{"code":"FIRST_DELIVERY"}],"signals":[{"code":"tractionbattery-stateofcharge","name":"StateOfCharge","group":"TractionBattery","body":{"value":64,"unit":"percent"},"meta":{"oemUpdatedAt":1780222506000,"fetchedAt":1780222662364}}]},"meta":{"version":"4.0","deliveredAt":1780222662654,"mode":"LIVE","signalCount":1}})";
  WebhookAnswer a = deliver_signed(*car.driver, body);
  EXPECT_EQ(a.status, 200) << a.body;
  ASSERT_EQ(car.host().emits.size(), 1u);
  EXPECT_DOUBLE_EQ(car.host().emits[0].readings[0].number, 64);
  EXPECT_EQ(car.counter("webhook_triggers"), 1u);
}

TEST(SmartcarWebhook, ForgedWrongKeyAlteredAndMissingSignaturesStoreNothing) {
  OneCar car;
  const std::string body = vehicle_state_4("e-2", kVehicle, webhook_signals_4());
  std::string forged = hmac_sha256_hex("amt", body);
  forged[0] = forged[0] == 'a' ? 'b' : 'a';
  EXPECT_EQ(deliver(*car.driver, body, {{"SC-Signature", forged}}).status, 401);
  EXPECT_EQ(deliver_signed(*car.driver, body, "not-the-amt").status, 401);
  std::string altered = body;
  altered.replace(altered.find("16342"), 5, "99999");
  EXPECT_EQ(deliver(*car.driver, altered, {{"sc-signature", hmac_sha256_hex("amt", body)}}).status,
            401);
  EXPECT_EQ(deliver(*car.driver, body, {}).status, 401);
  EXPECT_TRUE(car.host().emits.empty());
  EXPECT_EQ(car.counter("webhook_bad_signature"), 3u);
  EXPECT_EQ(car.counter("webhook_unsigned"), 1u);
  // The header name is case-insensitive.
  EXPECT_EQ(deliver(*car.driver, body, {{"sc-signature", hmac_sha256_hex("amt", body)}}).status,
            200);
}

TEST(SmartcarWebhook, ReplayedEventIdEmitsNoSecondEvent) {
  OneCar car;
  const std::string body = vehicle_state_4("e-3", kVehicle, webhook_signals_4());
  EXPECT_EQ(deliver_signed(*car.driver, body).status, 200);
  // Smartcar's retry: same eventId, new deliveryId.
  std::string retry = body;
  retry.replace(retry.find("54e2e1a8"), 8, "99999999");
  EXPECT_EQ(deliver_signed(*car.driver, retry).status, 200);
  EXPECT_EQ(deliver_signed(*car.driver, body).status, 200);
  EXPECT_EQ(car.host().emits.size(), 1u);
  EXPECT_EQ(car.counter("webhook_duplicates"), 2u);
}

TEST(SmartcarWebhook, BackPressureAnswers503AndTheRetryIsStored) {
  OneCar car;
  const std::string body = vehicle_state_4("e-4", kVehicle, webhook_signals_4());
  car.host().emit_answer = OEMLINK_RETRY;
  EXPECT_EQ(deliver_signed(*car.driver, body).status, 503);
  car.host().emit_answer = OEMLINK_OK;
  EXPECT_EQ(deliver_signed(*car.driver, body).status, 200);  // not marked as seen by the 503
  EXPECT_EQ(car.host().emits.size(), 2u);                    // the refused one is recorded too
  EXPECT_EQ(car.host().emits[1].answered, OEMLINK_OK);
  EXPECT_EQ(car.counter("webhook_backpressure"), 1u);
}

TEST(SmartcarWebhook, UnknownVehicleMalformedAndOtherMethods) {
  OneCar car;
  EXPECT_EQ(deliver_signed(*car.driver, vehicle_state_4("e-5", "unknown-car", webhook_signals_4()))
                .status,
            404);
  EXPECT_EQ(car.counter("webhook_unknown_vehicle"), 1u);
  EXPECT_EQ(deliver_signed(*car.driver, R"({"eventId":"e-6","eventType":"VEHICLE_STATE")").status,
            400);
  EXPECT_EQ(deliver_signed(*car.driver, R"([1,2,3])").status, 400);
  EXPECT_EQ(
      deliver_signed(*car.driver, R"({"eventId":"e-7","eventType":"VEHICLE_STATE","data":{}})")
          .status,
      400);
  EXPECT_EQ(car.counter("webhook_malformed"), 3u);
  EXPECT_EQ(deliver(*car.driver, "", {}, "GET").status, 405);
  EXPECT_TRUE(car.host().emits.empty());
}

TEST(SmartcarWebhook, VehicleErrorBecomesConnectionState) {
  OneCar car;
  auto error_event = [&](std::string_view id, std::string_view errors) {
    return R"({"eventId":")" + std::string(id) +
           R"(","eventType":"VEHICLE_ERROR","data":{"user":{"id":"u"},"vehicle":{"id":")" +
           std::string(kVehicle) + R"(","make":"FORD","model":"F-150","year":2022},"errors":)" +
           std::string(errors) +
           R"(},"meta":{"version":"4.0","deliveredAt":1780222662654,"mode":"LIVE"}})";
  };
  EXPECT_EQ(
      deliver_signed(
          *car.driver,
          error_event(
              "x1",
              R"([{"type":"CONNECTED_SERVICES_ACCOUNT","code":"AUTHENTICATION_FAILED","state":"ERROR","description":"Re-authenticate please","resolution":{"type":"REAUTHENTICATE","url":"https://connect.smartcar.com/oauth/reauthenticate?response_type=vehicle_id&client_id=cid&vehicle_id=v"},"signals":[]}])"))
          .status,
      200);
  ASSERT_EQ(car.host().states.size(), 1u);
  EXPECT_EQ(car.host().states[0].state, OEMLINK_STATE_NEEDS_REAUTH);
  EXPECT_NE(car.host().states[0].reason.find("https://connect.smartcar.com/oauth/reauthenticate"),
            std::string::npos);

  EXPECT_EQ(
      deliver_signed(
          *car.driver,
          error_event(
              "x2",
              R"([{"type":"CONNECTED_SERVICES_ACCOUNT","code":"SUBSCRIPTION","state":"ERROR","description":"The vehicle's connected services subscription is inactive.","resolution":{"type":"CONTACT_SUPPORT"},"signals":[]}])"))
          .status,
      200);
  EXPECT_EQ(car.host().states.back().state, OEMLINK_STATE_FAILED);
  EXPECT_NE(car.host().states.back().reason.find("SUBSCRIPTION"), std::string::npos);

  // One unsupported signal is not a broken car.
  EXPECT_EQ(
      deliver_signed(
          *car.driver,
          error_event(
              "x3",
              R"([{"type":"COMPATIBILITY","code":"VEHICLE_NOT_CAPABLE","state":"ERROR","signals":["VehicleIdentification.Nickname"]}])"))
          .status,
      200);
  EXPECT_EQ(car.host().states.size(), 2u);
  EXPECT_EQ(car.counter("webhook_signal_errors"), 1u);

  EXPECT_EQ(
      deliver_signed(
          *car.driver,
          error_event(
              "x4",
              R"([{"type":"CONNECTED_SERVICES_ACCOUNT","code":"SUBSCRIPTION","state":"RESOLVED","signals":[]}])"))
          .status,
      200);
  EXPECT_EQ(car.host().states.back().state, OEMLINK_STATE_OK);
}

TEST(SmartcarWebhook, Legacy2ScheduledPayload) {
  OneCar car;
  const std::string body =
      R"({"version":"2.0","webhookId":"865ca68d-a9b6-4d74-856e-605db0209eca","eventName":"schedule","mode":"live","payload":{"vehicles":[{"vehicleId":")" +
      std::string(kVehicle) +
      R"(","requestId":"25d743b8-14cf-4744-b067-bd8d7daf3f1a","data":[{"path":"/battery","code":200,"body":{"range":290.2,"percentRemaining":0.75},"headers":{"sc-data-age":"2026-06-29T23:55:53.000Z","sc-unit-system":"metric"}},{"path":"/odometer","code":200,"body":{"distance":6212.4},"headers":{"sc-unit-system":"imperial"}}]}]}})";
  WebhookAnswer a = deliver_signed(*car.driver, body);
  EXPECT_EQ(a.status, 200) << a.body;
  ASSERT_EQ(car.host().emits.size(), 1u);
  const RecordedReading* soc =
      find_reading(car.host().emits[0], "powertrainTractionBatteryStateOfChargeCurrent");
  ASSERT_TRUE(soc);
  EXPECT_DOUBLE_EQ(soc->number, 75);
  const RecordedReading* odo =
      find_reading(car.host().emits[0], "powertrainTransmissionTravelledDistance");
  ASSERT_TRUE(odo);
  EXPECT_NEAR(odo->number, 6212.4 * 1.609344, 1e-9);
  EXPECT_EQ(deliver_signed(*car.driver, body).status, 200);  // retried: same requestId
  EXPECT_EQ(car.host().emits.size(), 1u);
}

TEST(SmartcarWebhook, NoAmtRefusesEverything) {
  OneCar car(R"("amt":"")");
  const std::string body = R"({"eventType":"VERIFY","data":{"challenge":"challenge"}})";
  EXPECT_EQ(deliver(*car.driver, body, {}).status, 401);
  EXPECT_EQ(car.counter("webhook_no_amt"), 1u);
}

}  // namespace
}  // namespace oemlink::smartcar::test
