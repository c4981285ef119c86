// Polling through the built driver on the test kit's fake host: paging, token rotation, every
// error path and the request budget.
#include "smartcar_fixture.hpp"

#include <gtest/gtest.h>

namespace oemlink::smartcar::test {
namespace {

const std::string kSignalsUrl = "http://api.test/v3/vehicles/" + std::string(kVehicle) + "/signals";

std::string token_answer(std::string_view access, std::string_view refresh) {
  return R"({"access_token":")" + std::string(access) +
         R"(","token_type":"Bearer","expires_in":7200,"refresh_token":")" + std::string(refresh) +
         R"("})";
}

std::string small_page() {
  return v3_page({v3_signal("odometer-traveleddistance", R"({"value":1000,"unit":"km"})")});
}

TEST(SmartcarPoll, FollowsLinksNextIntoOneEvent) {
  OneCar car;
  const std::string next = "/v3/vehicles/" + std::string(kVehicle) + "/signals?page=2";
  car.host().script_http(HttpReply::with_status(
      200, v3_page({v3_signal("tractionbattery-stateofcharge", R"({"value":57,"unit":"percent"})")},
                   next)));
  car.host().script_http(HttpReply::with_status(
      200, v3_page({v3_signal("odometer-traveleddistance", R"({"value":52891,"unit":"km"})")})));
  Completion& c = car.poll();
  ASSERT_TRUE(c.done());
  EXPECT_EQ(c.status, OEMLINK_OK) << c.message;
  ASSERT_EQ(car.host().requests.size(), 2u);
  EXPECT_EQ(car.host().requests[0].method, "GET");
  EXPECT_EQ(car.host().requests[0].url, kSignalsUrl);
  EXPECT_EQ(car.host().requests[0].header("authorization"), "Bearer at-0");
  EXPECT_EQ(car.host().requests[1].url, kSignalsUrl + "?page=2");
  ASSERT_EQ(car.host().emits.size(), 1u);
  EXPECT_EQ(car.host().emits[0].readings.size(), 2u);
  EXPECT_TRUE(find_reading(car.host().emits[0], "powertrainTractionBatteryStateOfChargeCurrent"));
  EXPECT_TRUE(find_reading(car.host().emits[0], "powertrainTransmissionTravelledDistance"));
}

TEST(SmartcarPoll, PagingIsBoundedByMaxPages) {
  OneCar car(R"("max_pages":2)");
  for (int i = 0; i < 3; ++i)
    car.host().script_http(HttpReply::with_status(
        200, v3_page({v3_signal("odometer-traveleddistance", R"({"value":1,"unit":"km"})")},
                     "?page=" + std::to_string(i + 2))));
  Completion& c = car.poll();
  EXPECT_EQ(c.status, OEMLINK_OK);
  EXPECT_EQ(car.host().requests.size(), 2u);
  EXPECT_EQ(car.counter("pages_truncated"), 1u);
}

TEST(SmartcarPoll, NextLinkToAnotherHostIsNotFollowed) {
  OneCar car;
  car.host().script_http(HttpReply::with_status(
      200, v3_page({v3_signal("odometer-traveleddistance", R"({"value":1,"unit":"km"})")},
                   "https://evil.example/v3/steal")));
  Completion& c = car.poll();
  EXPECT_EQ(c.status, OEMLINK_OK);
  EXPECT_EQ(car.host().requests.size(), 1u);
  EXPECT_EQ(car.counter("next_links_refused"), 1u);
  EXPECT_EQ(car.host().emits.size(), 1u);
}

TEST(SmartcarPoll, PartialSignalFailuresDoNotFailTheRound) {
  OneCar car;
  car.host().script_http(HttpReply::with_status(200, realistic_page()));
  Completion& c = car.poll();
  EXPECT_EQ(c.status, OEMLINK_OK) << c.message;
  ASSERT_EQ(car.host().emits.size(), 1u);
  EXPECT_EQ(car.host().emits[0].readings.size(), 14u);
  EXPECT_EQ(car.counter("signals_skipped_status"), 2u);
  EXPECT_EQ(car.counter("signals_unmapped"), 2u);
  EXPECT_EQ(car.counter("signals_rejected"), 0u);
  EXPECT_TRUE(car.host().states.empty());
}

TEST(SmartcarPoll, RefreshesBeforeExpiryAndStoresThePairBeforeUse) {
  OneCar car;
  car.host().secrets[{car.conn, "access_expires_at_ms"}] =
      std::to_string(car.host().now_ms + 60'000);
  car.host().script_http(HttpReply::with_status(200, token_answer("at-1", "rt-1")));
  car.host().script_http(HttpReply::with_status(200, small_page()));
  Completion& c = car.poll();
  EXPECT_EQ(c.status, OEMLINK_OK) << c.message;
  ASSERT_EQ(car.host().requests.size(), 2u);
  const RecordedRequest& refresh = car.host().requests[0];
  EXPECT_EQ(refresh.method, "POST");
  EXPECT_EQ(refresh.url, "http://auth.test/oauth/token");
  EXPECT_EQ(refresh.header("Authorization"), "Basic Y2lkOmNzZWNyZXQ=");
  EXPECT_EQ(refresh.header("content-type"), "application/x-www-form-urlencoded");
  EXPECT_EQ(refresh.body, "grant_type=refresh_token&refresh_token=rt-0");
  EXPECT_EQ(car.host().secret_put_calls, 1);  // one transaction for the pair
  EXPECT_EQ(car.secret("access_token"), "at-1");
  EXPECT_EQ(car.secret("refresh_token"), "rt-1");
  EXPECT_EQ(car.secret("access_expires_at_ms"), std::to_string(car.host().now_ms + 7'200'000));
  EXPECT_EQ(car.host().requests[1].header("Authorization"), "Bearer at-1");
  for (const RecordedLog& l : car.host().logs) {
    EXPECT_EQ(l.message.find("rt-"), std::string::npos) << l.message;
    EXPECT_EQ(l.message.find("at-1"), std::string::npos) << l.message;
    EXPECT_EQ(l.message.find("csecret"), std::string::npos) << l.message;
  }
}

TEST(SmartcarPoll, ARotatedPairThatCannotBeStoredIsNotUsedUntilItIs) {
  OneCar car;
  car.host().secrets[{car.conn, "access_expires_at_ms"}] = "0";
  car.host().fail_next_secret_puts = 1;
  car.host().script_http(HttpReply::with_status(200, token_answer("at-1", "rt-1")));
  Completion& first = car.poll();
  EXPECT_EQ(first.status, OEMLINK_RETRY);
  EXPECT_EQ(car.host().requests.size(), 1u);  // no data request with the unstored token
  EXPECT_EQ(car.secret("refresh_token"), "rt-0");
  EXPECT_EQ(car.counter("token_store_failures"), 1u);

  car.host().script_http(HttpReply::with_status(200, small_page()));
  Completion& second = car.poll();
  EXPECT_EQ(second.status, OEMLINK_OK) << second.message;
  EXPECT_EQ(car.secret("refresh_token"), "rt-1");  // stored first...
  ASSERT_EQ(car.host().requests.size(), 2u);       // ...without a second refresh
  EXPECT_EQ(car.host().requests[1].header("Authorization"), "Bearer at-1");
}

TEST(SmartcarPoll, NoStoredRefreshTokenNeedsReauth) {
  OneCar car({}, /*seed_tokens=*/false);
  Completion& c = car.poll();
  EXPECT_EQ(c.status, OEMLINK_ERROR);
  ASSERT_EQ(car.host().states.size(), 1u);
  EXPECT_EQ(car.host().states[0].state, OEMLINK_STATE_NEEDS_REAUTH);
  EXPECT_NE(car.host().states[0].reason.find("oemlink secrets set"), std::string::npos);
  EXPECT_TRUE(car.host().requests.empty());
}

TEST(SmartcarPoll, RefusedRefreshTokenNeedsReauth) {
  OneCar car;
  car.host().secrets[{car.conn, "access_expires_at_ms"}] = "0";
  car.host().script_http(HttpReply::with_status(
      400, R"({"error":"invalid_grant","error_description":"Invalid or expired refresh token."})"));
  Completion& c = car.poll();
  EXPECT_EQ(c.status, OEMLINK_ERROR);
  ASSERT_EQ(car.host().states.size(), 1u);
  EXPECT_EQ(car.host().states[0].state, OEMLINK_STATE_NEEDS_REAUTH);
  EXPECT_NE(car.host().states[0].reason.find(
                "http://connect.test/oauth/"
                "reauthenticate?response_type=vehicle_id&client_id=cid&vehicle_id=" +
                std::string(kVehicle)),
            std::string::npos);
  EXPECT_NE(car.host().states[0].reason.find("invalid_grant"), std::string::npos);
}

TEST(SmartcarPoll, AsleepOn409EitherShape) {
  for (
      std::string body :
      {std::string(
           R"({"type":"VEHICLE_STATE","code":"ASLEEP","description":"asleep","resolution":{"type":null}})"),
       std::string(
           R"({"errors":[{"status":"409","code":"VEHICLE_STATE","title":"Asleep","detail":"asleep"}]})")}) {
    OneCar car;
    car.host().script_http(HttpReply::with_status(409, body));
    Completion& c = car.poll();
    EXPECT_EQ(c.status, OEMLINK_OK);
    ASSERT_EQ(car.host().states.size(), 1u);
    EXPECT_EQ(car.host().states[0].state, OEMLINK_STATE_ASLEEP);
    EXPECT_TRUE(car.host().emits.empty());
  }
}

TEST(SmartcarPoll, RateLimitedUntilRetryAfterAndNoRequestBefore) {
  OneCar car;
  car.host().script_http(HttpReply::with_status(
      429, R"({"type":"RATE_LIMIT","code":"VEHICLE","description":"too many"})",
      {{"Retry-After", "120"}}));
  Completion& c = car.poll();
  EXPECT_EQ(c.status, OEMLINK_RETRY);
  ASSERT_EQ(car.host().states.size(), 1u);
  EXPECT_EQ(car.host().states[0].state, OEMLINK_STATE_RATE_LIMITED);
  EXPECT_EQ(car.host().states[0].until_unix_ms, car.host().now_ms + 120'000);

  car.host().now_ms += 60'000;
  Completion& early = car.poll();
  EXPECT_EQ(early.status, OEMLINK_RETRY);
  EXPECT_EQ(car.host().requests.size(), 1u);
  EXPECT_EQ(car.host().states.back().state, OEMLINK_STATE_RATE_LIMITED);

  car.host().now_ms += 60'000;
  car.host().script_http(HttpReply::with_status(200, small_page()));
  EXPECT_EQ(car.poll().status, OEMLINK_OK);
  EXPECT_EQ(car.host().states.back().state, OEMLINK_STATE_OK);  // cleared once data flows again
}

TEST(SmartcarPoll, AppWideRateLimitEmptiesTheSharedBudget) {
  OneCar car;
  car.host().script_http(HttpReply::with_status(
      429, R"({"errors":[{"status":"429","code":"SMARTCAR_API","title":"Rate limit"}]})",
      {{"retry-after", "300"}}));
  car.poll();
  car.host().now_ms += 100'000;
  Completion& c = car.poll();
  EXPECT_EQ(c.status, OEMLINK_RETRY);
  EXPECT_EQ(car.host().requests.size(), 1u);
  EXPECT_EQ(car.counter("budget_exhausted"), 1u);
}

TEST(SmartcarPoll, BillingFailsTheCarForGood) {
  OneCar car;
  car.host().script_http(HttpReply::with_status(
      430,
      R"({"type":"BILLING","code":"VEHICLE_REQUEST_LIMIT","description":"The vehicle has reached its monthly limit.","resolution":{"type":"CONTACT_SUPPORT"}})"));
  Completion& c = car.poll();
  EXPECT_EQ(c.status, OEMLINK_ERROR);
  ASSERT_EQ(car.host().states.size(), 1u);
  EXPECT_EQ(car.host().states[0].state, OEMLINK_STATE_FAILED);
  EXPECT_NE(car.host().states[0].reason.find("BILLING:VEHICLE_REQUEST_LIMIT"), std::string::npos);
  EXPECT_NE(car.host().states[0].reason.find("monthly limit"), std::string::npos);
  Completion& again = car.poll();
  EXPECT_EQ(again.status, OEMLINK_ERROR);
  EXPECT_EQ(car.host().requests.size(), 1u);
}

TEST(SmartcarPoll, Unauthorized401RefreshesOnceAndRetries) {
  OneCar car;
  car.host().script_http(HttpReply::with_status(
      401, R"({"errors":[{"status":"401","code":"AUTHENTICATION","title":"Unauthorized"}]})"));
  car.host().script_http(HttpReply::with_status(200, token_answer("at-1", "rt-1")));
  car.host().script_http(HttpReply::with_status(200, small_page()));
  Completion& c = car.poll();
  EXPECT_EQ(c.status, OEMLINK_OK) << c.message;
  ASSERT_EQ(car.host().requests.size(), 3u);
  EXPECT_EQ(car.host().requests[1].url, "http://auth.test/oauth/token");
  EXPECT_EQ(car.host().requests[2].url, kSignalsUrl);
  EXPECT_EQ(car.host().requests[2].header("Authorization"), "Bearer at-1");
  EXPECT_EQ(car.secret("refresh_token"), "rt-1");
}

TEST(SmartcarPoll, Unauthorized401AfterRefreshNeedsReauth) {
  OneCar car;
  const std::string unauthorized =
      R"({"type":"AUTHENTICATION","code":null,"description":"The authorization header is missing or malformed, or it contains invalid or expired authentication credentials.","resolution":{"type":null}})";
  car.host().script_http(HttpReply::with_status(401, unauthorized));
  car.host().script_http(HttpReply::with_status(200, token_answer("at-1", "rt-1")));
  car.host().script_http(HttpReply::with_status(401, unauthorized));
  Completion& c = car.poll();
  EXPECT_EQ(c.status, OEMLINK_ERROR);
  EXPECT_EQ(car.host().requests.size(), 3u);
  ASSERT_EQ(car.host().states.size(), 1u);
  EXPECT_EQ(car.host().states[0].state, OEMLINK_STATE_NEEDS_REAUTH);
  EXPECT_NE(car.host().states[0].reason.find("http://connect.test/oauth/reauthenticate"),
            std::string::npos);
}

TEST(SmartcarPoll, Unauthorized401WithReauthResolutionStillRefreshesFirst) {
  OneCar car;
  const std::string url =
      "https://connect.smartcar.com/oauth/reauthenticate?response_type=vehicle_id&client_id=cid";
  const std::string body =
      R"({"type":"AUTHENTICATION","code":null,"description":"expired","resolution":{"type":"REAUTHENTICATE","url":")" +
      url + R"("}})";
  car.host().script_http(HttpReply::with_status(401, body));
  car.host().script_http(HttpReply::with_status(200, token_answer("at-1", "rt-1")));
  car.host().script_http(HttpReply::with_status(401, body));
  Completion& c = car.poll();
  EXPECT_EQ(c.status, OEMLINK_ERROR);
  ASSERT_EQ(car.host().requests.size(), 3u);
  EXPECT_EQ(car.host().requests[1].url, "http://auth.test/oauth/token");
  ASSERT_EQ(car.host().states.size(), 1u);
  EXPECT_EQ(car.host().states[0].state, OEMLINK_STATE_NEEDS_REAUTH);
  EXPECT_NE(car.host().states[0].reason.find(url), std::string::npos);
}

TEST(SmartcarPoll, ReauthenticateResolutionCarriesSmartcarsUrl) {
  OneCar car;
  const std::string url =
      "https://connect.smartcar.com/oauth/"
      "reauthenticate?response_type=vehicle_id&client_id=cid&vehicle_id=" +
      std::string(kVehicle);
  car.host().script_http(HttpReply::with_status(
      400,
      R"({"type":"CONNECTED_SERVICES_ACCOUNT","code":"AUTHENTICATION_FAILED","description":"Smartcar was unable to authenticate with the user's connected services account.","resolution":{"type":"REAUTHENTICATE","url":")" +
          url + R"("}})"));
  Completion& c = car.poll();
  EXPECT_EQ(c.status, OEMLINK_ERROR);
  ASSERT_EQ(car.host().states.size(), 1u);
  EXPECT_EQ(car.host().states[0].state, OEMLINK_STATE_NEEDS_REAUTH);
  EXPECT_NE(car.host().states[0].reason.find(url), std::string::npos);
}

TEST(SmartcarPoll, ServerErrorsAndTransportFailuresRetry) {
  for (int status : {500, 502, 503, 504}) {
    OneCar car;
    car.host().script_http(HttpReply::with_status(
        status, R"({"type":"SERVER","code":"INTERNAL","description":"boom"})"));
    Completion& c = car.poll();
    EXPECT_EQ(c.status, OEMLINK_RETRY) << status;
    EXPECT_TRUE(car.host().states.empty());
  }
  OneCar car;
  car.host().script_http(HttpReply::transport_failure("timeout"));
  EXPECT_EQ(car.poll().status, OEMLINK_RETRY);
  EXPECT_EQ(car.counter("transport_failures"), 1u);
}

TEST(SmartcarPoll, MalformedPageIsCountedAndRetried) {
  OneCar car;
  car.host().script_http(HttpReply::with_status(200, R"({"data":[)"));
  EXPECT_EQ(car.poll().status, OEMLINK_RETRY);
  EXPECT_EQ(car.counter("malformed_responses"), 1u);
}

TEST(SmartcarPoll, BackPressureRetries) {
  OneCar car;
  car.host().emit_answer = OEMLINK_RETRY;
  car.host().script_http(HttpReply::with_status(200, small_page()));
  Completion& c = car.poll();
  EXPECT_EQ(c.status, OEMLINK_RETRY);
  EXPECT_EQ(car.counter("emit_backpressure"), 1u);
}

TEST(SmartcarPoll, EmptyBudgetMeansNoRequestAndRateLimitedUntilTheNextToken) {
  OneCar car(R"("request_budget_capacity":2,"request_budget_refill_per_minute":2)");
  ConnSpec second;
  second.id = "car-2";
  second.identifiers_json = R"({"smartcar_id":"other-vehicle"})";
  oemlink_conn* conn2 = car.driver->open(second);
  ASSERT_TRUE(conn2);
  car.host().secrets[{conn2, "access_token"}] = "at-x";
  car.host().secrets[{conn2, "refresh_token"}] = "rt-x";
  car.host().secrets[{conn2, "access_expires_at_ms"}] = std::to_string(car.host().now_ms + 3600000);
  car.host().script_http(HttpReply::with_status(200, small_page()));
  car.host().script_http(HttpReply::with_status(200, small_page()));
  EXPECT_EQ(car.poll().status, OEMLINK_OK);
  EXPECT_EQ(car.driver->poll(conn2).status, OEMLINK_OK);
  // The bucket is shared: the third request of the instance finds it empty.
  Completion& c = car.poll();
  EXPECT_EQ(c.status, OEMLINK_RETRY);
  EXPECT_EQ(car.host().requests.size(), 2u);
  ASSERT_FALSE(car.host().states.empty());
  EXPECT_EQ(car.host().states.back().state, OEMLINK_STATE_RATE_LIMITED);
  EXPECT_EQ(car.host().states.back().until_unix_ms, car.host().now_ms + 30'000);
  EXPECT_EQ(car.counter("budget_exhausted"), 1u);
  car.host().now_ms += 30'000;
  car.host().script_http(HttpReply::with_status(200, small_page()));
  EXPECT_EQ(car.poll().status, OEMLINK_OK);
}

TEST(SmartcarPoll, V2BatchFallback) {
  OneCar car(R"("use_v2_batch":true,"v2_batch_paths":["/battery","/odometer"])");
  car.host().script_http(HttpReply::with_status(
      200,
      R"({"responses":[{"path":"/battery","code":200,"body":{"percentRemaining":0.42,"range":180.5},"headers":{"sc-data-age":"2026-06-29T23:55:53.000Z","sc-unit-system":"metric"}},{"path":"/odometer","code":409,"body":{"type":"VEHICLE_STATE","code":"ASLEEP"}}]})"));
  Completion& c = car.poll();
  EXPECT_EQ(c.status, OEMLINK_OK) << c.message;
  ASSERT_EQ(car.host().requests.size(), 1u);
  EXPECT_EQ(car.host().requests[0].method, "POST");
  EXPECT_EQ(car.host().requests[0].url,
            "http://v2.test/v2.0/vehicles/" + std::string(kVehicle) + "/batch");
  EXPECT_EQ(car.host().requests[0].body,
            R"({"requests":[{"path":"/battery"},{"path":"/odometer"}]})");
  EXPECT_EQ(car.host().requests[0].header("SC-Unit-System"), "metric");
  ASSERT_EQ(car.host().emits.size(), 1u);
  const RecordedReading* soc =
      find_reading(car.host().emits[0], "powertrainTractionBatteryStateOfChargeCurrent");
  ASSERT_TRUE(soc);
  EXPECT_DOUBLE_EQ(soc->number, 42);
  EXPECT_EQ(soc->timestamp_ms, 1782777353000);
  EXPECT_EQ(car.counter("signals_skipped_status"), 1u);
}

TEST(SmartcarOpen, NeedsSmartcarIdAndRefusesDuplicates) {
  DriverUnderTest d(smartcar_descriptor(), settings_json());
  ASSERT_TRUE(d.created()) << d.create_error();
  ConnSpec spec;
  spec.id = "no-id";
  EXPECT_FALSE(d.open(spec));
  EXPECT_NE(d.open_error().find("smartcar_id"), std::string::npos);
  spec.id = "a";
  spec.identifiers_json = R"({"smartcar_id":"v1"})";
  EXPECT_TRUE(d.open(spec));
  spec.id = "b";
  EXPECT_FALSE(d.open(spec));
  EXPECT_NE(d.open_error().find("already linked"), std::string::npos);
}

TEST(SmartcarCreate, BadSettingsNameTheKey) {
  DriverUnderTest d(smartcar_descriptor(), settings_json(R"("v2_unit_system":"furlongs")"));
  EXPECT_FALSE(d.created());
  EXPECT_NE(d.create_error().find("v2_unit_system"), std::string::npos);
  DriverUnderTest e(smartcar_descriptor(), settings_json(R"("api_base_url":"ftp://x")"));
  EXPECT_NE(e.create_error().find("api_base_url"), std::string::npos);
}

TEST(SmartcarCreate, LogsTheWebhookUrlToRegister) {
  static oemlink_webhook_url_service svc{
      sizeof(oemlink_webhook_url_service),
      [](const oemlink_host*, char* buf, size_t cap, size_t* size) -> oemlink_status {
        constexpr std::string_view url = "https://oemlink.example/webhooks/smartcar";
        *size = url.size();
        if (cap < url.size()) return OEMLINK_RETRY;
        std::copy(url.begin(), url.end(), buf);
        return OEMLINK_OK;
      }};
  // The kit's host is created with the instance; a service must be there before create(), so
  // the descriptor is driven by hand here.
  FakeHost host;
  host.services[OEMLINK_SERVICE_WEBHOOK_URL] = &svc;
  const std::string s = settings_json();
  oemlink_instance* inst = nullptr;
  char err[256] = {};
  ASSERT_EQ(
      smartcar_descriptor()->create(host.table(), {s.data(), s.size()}, &inst, err, sizeof err),
      OEMLINK_OK)
      << err;
  bool logged = false;
  for (const RecordedLog& l : host.logs)
    logged |= l.message.find("https://oemlink.example/webhooks/smartcar") != std::string::npos;
  EXPECT_TRUE(logged);
  smartcar_descriptor()->destroy(inst);
}

}  // namespace
}  // namespace oemlink::smartcar::test
