// Token chain through the built driver: rotation persisted in one secret_put before use, a
// failed write keeps the new token unused, refusals mean re-auth, other failures back off, and
// connections of one account share one chain.
#include "tesla_driver_fixture.hpp"

namespace oemlink::tesla::test {
namespace {

std::string vd_body(const std::string& vin, int soc = 55) {
  return R"({"response":{"vin":")" + vin +
         R"(","state":"online","charge_state":{"battery_level":)" + std::to_string(soc) +
         R"(,"timestamp":1700000000000}}})";
}

TEST_F(TeslaDriverTest, FirstPollRotatesPersistsThenUsesTheNewToken) {
  create();
  oemlink_conn* car = open_car(0, kVin1, "123");
  host().answer_http_inline = false;  // step by step: see the order of write and use
  Completion& done = d->poll(car);
  ASSERT_EQ(host().requests.size(), 1u);
  const auto& token_req = host().requests[0];
  EXPECT_EQ(token_req.method, "POST");
  EXPECT_EQ(token_req.url, kAuth + "/oauth2/v3/token");
  EXPECT_EQ(token_req.body, "grant_type=refresh_token&client_id=cid&refresh_token=r0");
  EXPECT_EQ(host().secret_put_calls, 0);

  script(200, token_reply(access1, "r1", 28800));
  host().deliver_http();
  // The pair is durable (one put, four keys) before the request that uses it exists.
  EXPECT_EQ(host().secret_put_calls, 1);
  EXPECT_EQ(secret(car, "refresh_token"), "r1");
  EXPECT_EQ(secret(car, "access_token"), access1);
  EXPECT_EQ(secret(car, "access_expires_at_ms"), std::to_string(host().now_ms + 28'800'000));
  EXPECT_EQ(secret(car, "issued_at_ms"), std::to_string(host().now_ms));
  ASSERT_EQ(host().requests.size(), 2u);
  EXPECT_EQ(host().requests[1].url, kDiscovery + "/api/1/users/region");
  EXPECT_EQ(host().requests[1].header("Authorization"), "Bearer " + access1);

  script(200, region_reply(kRegion));
  script(200, list_reply({{"123", kVin1, "online"}}));
  script(200, vd_body(kVin1));
  while (host().deliver_http() > 0) {
  }
  ASSERT_EQ(host().requests.size(), 4u);
  EXPECT_EQ(host().requests[2].url, kRegion + "/api/1/vehicles");
  EXPECT_EQ(host().requests[3].url, vehicle_data_url("123"));
  EXPECT_EQ(host().requests[3].header("Authorization"), "Bearer " + access1);
  EXPECT_EQ(done.status, OEMLINK_OK);
  ASSERT_EQ(host().emits.size(), 1u);
  EXPECT_EQ(host().emits[0].readings.at(0).name, "powertrainTractionBatteryStateOfChargeCurrent");
  EXPECT_EQ(host().emits[0].readings.at(0).timestamp_ms, 1700000000000);
  EXPECT_EQ(last_state().state, OEMLINK_STATE_OK);
  EXPECT_EQ(counter("token_refreshes"), 1u);
  EXPECT_EQ(counter("billed_vehicle_data"), 1u);
  EXPECT_EQ(counter("billed_vehicle_list"), 1u);

  // The next poll reuses the access token and the cached region and list.
  script(200, vd_body(kVin1, 56));
  host().answer_http_inline = true;
  EXPECT_EQ(d->poll(car).status, OEMLINK_OK);
  EXPECT_EQ(host().requests.size(), 5u);
  EXPECT_EQ(host().requests[4].url, vehicle_data_url("123"));
}

// The host registers a connection only after open() returns and refuses secret access before.
TEST_F(TeslaDriverTest, OpenReadsNoSecretsTheFirstPollDoes) {
  create();
  oemlink_conn* car = open_car(0, kVin1, "123");
  EXPECT_EQ(host().secret_get_calls, 0);
  script(401, R"({"error":"login_required"})");
  d->poll(car);
  EXPECT_GT(host().secret_get_calls, 0);
  EXPECT_EQ(host().requests.at(0).body, "grant_type=refresh_token&client_id=cid&refresh_token=r0");
}

TEST_F(TeslaDriverTest, RefreshesBeforeExpiryByTheMargin) {
  create(R"(,"token_refresh_margin":600000)");
  oemlink_conn* car = open_car(0, kVin1, "123");
  script_login(access1, "r1", {{"123", kVin1, "online"}});
  script(200, vd_body(kVin1));
  d->poll(car);
  host().now_ms += 28'800'000 - 600'000 - 1;  // just inside the margin's edge: still valid
  script(200, vd_body(kVin1));
  d->poll(car);
  EXPECT_EQ(counter("token_refreshes"), 1u);
  host().now_ms += 2;  // within 10 minutes of expiry: refreshed first
  script(200, token_reply(access2, "r2"));
  script(200, list_reply({{"123", kVin1, "online"}}));
  script(200, vd_body(kVin1));
  EXPECT_EQ(d->poll(car).status, OEMLINK_OK);
  EXPECT_EQ(counter("token_refreshes"), 2u);
  EXPECT_EQ(host().requests.back().header("Authorization"), "Bearer " + access2);
  EXPECT_EQ(secret(car, "refresh_token"), "r2");
}

TEST_F(TeslaDriverTest, FailedWriteKeepsTheNewTokenUnusedUntilStored) {
  create();
  oemlink_conn* car = open_car(0, kVin1, "123");
  host().fail_next_secret_puts = 1;
  script(200, token_reply(access1, "r1"));
  Completion& first = d->poll(car);
  EXPECT_EQ(first.status, OEMLINK_RETRY);
  EXPECT_NE(first.message.find("not used until it is stored"), std::string::npos) << first.message;
  EXPECT_EQ(host().requests.size(), 1u);  // nothing was sent with the unstored token
  EXPECT_EQ(secret(car, "refresh_token"), "r0");
  EXPECT_EQ(counter("token_persist_failures"), 1u);

  // Next poll: the held pair is stored first (no second refresh: r0 is spent), then used.
  script(200, region_reply(kRegion));
  script(200, list_reply({{"123", kVin1, "online"}}));
  script(200, vd_body(kVin1));
  Completion& second = d->poll(car);
  EXPECT_EQ(second.status, OEMLINK_OK) << second.message;
  EXPECT_EQ(secret(car, "refresh_token"), "r1");
  EXPECT_EQ(host().secret_put_calls, 2);
  ASSERT_EQ(host().requests.size(), 4u);
  EXPECT_EQ(host().requests[1].header("Authorization"), "Bearer " + access1);
  EXPECT_EQ(counter("token_refreshes"), 1u);
}

TEST_F(TeslaDriverTest, WriteStillFailingMeansStillNotUsed) {
  create();
  oemlink_conn* car = open_car(0, kVin1, "123");
  host().fail_next_secret_puts = 2;
  script(200, token_reply(access1, "r1"));
  d->poll(car);
  Completion& again = d->poll(car);
  EXPECT_EQ(again.status, OEMLINK_RETRY);
  EXPECT_NE(again.message.find("not stored yet"), std::string::npos) << again.message;
  EXPECT_EQ(host().requests.size(), 1u);
}

TEST_F(TeslaDriverTest, LoginRequiredNeedsReauthWithTheReason) {
  create();
  oemlink_conn* car = open_car(0, kVin1, "123", "", "rt-SECRET-VALUE");
  script(401, R"({"error":"login_required","error_description":"Login required"})");
  Completion& done = d->poll(car);
  EXPECT_EQ(done.status, OEMLINK_ERROR);
  EXPECT_EQ(last_state().state, OEMLINK_STATE_NEEDS_REAUTH);
  EXPECT_NE(last_state().reason.find("login_required"), std::string::npos) << last_state().reason;
  EXPECT_EQ(last_state().reason.find("SECRET"), std::string::npos);  // never the token
  for (const auto& l : host().logs) EXPECT_EQ(l.message.find("SECRET"), std::string::npos);
  // Dead stays dead without asking Tesla again.
  d->poll(car);
  EXPECT_EQ(host().requests.size(), 1u);
}

TEST_F(TeslaDriverTest, InvalidGrantNeedsReauth) {
  create();
  oemlink_conn* car = open_car(0, kVin1, "123");
  script(400, R"({"error":"invalid_grant","error_description":"refresh token revoked"})");
  d->poll(car);
  EXPECT_EQ(last_state().state, OEMLINK_STATE_NEEDS_REAUTH);
  EXPECT_NE(last_state().reason.find("invalid_grant"), std::string::npos);
}

TEST_F(TeslaDriverTest, NoSeededTokenNeedsReauthNamingTheCommand) {
  create();
  oemlink_conn* car = open_car(0, kVin1, "123", "", "");
  EXPECT_EQ(d->poll(car).status, OEMLINK_ERROR);
  EXPECT_EQ(last_state().state, OEMLINK_STATE_NEEDS_REAUTH);
  EXPECT_NE(last_state().reason.find("oemlink secrets set"), std::string::npos);
  EXPECT_TRUE(host().requests.empty());
}

TEST_F(TeslaDriverTest, TokenEndpointFailuresBackOffNeverLoop) {
  create();
  oemlink_conn* car = open_car(0, kVin1, "123");
  script(503, "upstream");
  EXPECT_EQ(d->poll(car).status, OEMLINK_RETRY);
  EXPECT_EQ(d->poll(car).status, OEMLINK_RETRY);  // inside the back-off: no request
  EXPECT_EQ(host().requests.size(), 1u);
  host().now_ms += 30'000;
  host().script_http(HttpReply::transport_failure("timeout"));
  EXPECT_EQ(d->poll(car).status, OEMLINK_RETRY);
  EXPECT_EQ(host().requests.size(), 2u);
  host().now_ms += 30'000;  // the back-off doubled to 60 s
  EXPECT_EQ(d->poll(car).status, OEMLINK_RETRY);
  EXPECT_EQ(host().requests.size(), 2u);
  host().now_ms += 30'000;
  script(400, R"({"error":"invalid_request"})");  // not a refusal of the token: retry later
  EXPECT_EQ(d->poll(car).status, OEMLINK_RETRY);
  EXPECT_EQ(host().requests.size(), 3u);
  for (const auto& s : host().states) EXPECT_NE(s.state, OEMLINK_STATE_NEEDS_REAUTH);
  EXPECT_EQ(counter("token_refresh_failures"), 3u);
}

TEST_F(TeslaDriverTest, Unauthorized401RefreshesOnceThenSucceeds) {
  create();
  oemlink_conn* car = open_car(0, kVin1, "123");
  script_login(access1, "r1", {{"123", kVin1, "online"}});
  script(401, R"({"error":"token expired"})");
  script(200, token_reply(access2, "r2"));
  script(200, vd_body(kVin1));
  EXPECT_EQ(d->poll(car).status, OEMLINK_OK);
  EXPECT_EQ(counter("token_refreshes"), 2u);
  EXPECT_EQ(host().requests.back().header("Authorization"), "Bearer " + access2);
  EXPECT_EQ(secret(car, "refresh_token"), "r2");
}

TEST_F(TeslaDriverTest, Unauthorized401AfterARefreshNeedsReauth) {
  create();
  oemlink_conn* car = open_car(0, kVin1, "123");
  script_login(access1, "r1", {{"123", kVin1, "online"}});
  script(401, R"({"error":"token expired"})");
  script(200, token_reply(access2, "r2"));
  script(401, R"({"error":"token expired"})");
  EXPECT_EQ(d->poll(car).status, OEMLINK_ERROR);
  EXPECT_EQ(last_state().state, OEMLINK_STATE_NEEDS_REAUTH);
  EXPECT_EQ(host().requests.size(), 6u);  // not a third try
}

TEST_F(TeslaDriverTest, AccountSharesOneChainAndPicksTheNewestPair) {
  create();
  oemlink_conn* a = open_car(0, kVin1, "1", "alice", "r-old", "100");
  oemlink_conn* b = open_car(1, kVin2, "2", "alice", "r-new", "200");
  script_login(access1, "r3", {{"1", kVin1, "online"}, {"2", kVin2, "online"}});
  script(200, vd_body(kVin1));
  EXPECT_EQ(d->poll(a).status, OEMLINK_OK);
  EXPECT_EQ(host().requests[0].body, "grant_type=refresh_token&client_id=cid&refresh_token=r-new");
  // One refresh, one write: to the connection whose poll refreshed.
  EXPECT_EQ(host().secret_put_calls, 1);
  EXPECT_EQ(secret(a, "refresh_token"), "r3");
  EXPECT_EQ(secret(b, "refresh_token"), "r-new");
  // The second car uses the same token, region and cached vehicle list: one call; its poll
  // copies the pair to its own secrets.
  script(200, vd_body(kVin2));
  EXPECT_EQ(d->poll(b).status, OEMLINK_OK);
  EXPECT_EQ(host().secret_put_calls, 2);
  EXPECT_EQ(secret(b, "refresh_token"), "r3");
  EXPECT_EQ(host().requests.size(), 5u);
  EXPECT_EQ(host().requests[4].url, vehicle_data_url("2"));
  EXPECT_EQ(counter("token_refreshes"), 1u);
  EXPECT_EQ(counter("billed_vehicle_list"), 1u);
}

TEST_F(TeslaDriverTest, ConcurrentPollsOfOneAccountRefreshOnce) {
  create();
  oemlink_conn* a = open_car(0, kVin1, "1", "alice");
  oemlink_conn* b = open_car(1, kVin2, "2", "alice");
  host().answer_http_inline = false;
  Completion& ca = d->poll(a);
  Completion& cb = d->poll(b);
  EXPECT_EQ(host().requests.size(), 1u);  // b waits behind a's refresh
  script(200, token_reply(access1, "r1"));
  script(200, region_reply(kRegion));
  script(200, list_reply({{"1", kVin1, "online"}, {"2", kVin2, "online"}}));
  script(200, vd_body(kVin1));
  script(200, vd_body(kVin2));
  while (host().deliver_http() > 0) {
  }
  EXPECT_EQ(ca.status, OEMLINK_OK);
  EXPECT_EQ(cb.status, OEMLINK_OK);
  EXPECT_EQ(counter("token_refreshes"), 1u);
  EXPECT_EQ(counter("billed_vehicle_list"), 1u);
  EXPECT_EQ(counter("billed_region"), 1u);
}

TEST_F(TeslaDriverTest, RefusedNewestTokenFallsBackToAnOlderOneOnce) {
  create();
  oemlink_conn* a = open_car(0, kVin1, "1", "alice", "r-old", "100");
  open_car(1, kVin2, "2", "alice", "r-new", "200");
  script(401, R"({"error":"login_required"})");
  script_login(access1, "r5", {{"1", kVin1, "online"}});
  script(200, vd_body(kVin1));
  EXPECT_EQ(d->poll(a).status, OEMLINK_OK);
  EXPECT_EQ(host().requests[1].body, "grant_type=refresh_token&client_id=cid&refresh_token=r-old");
}

// Review: an expires_in of 0, negative or absurdly large is bounded (60 s .. 30 days), so a
// hostile or broken token endpoint cannot make every call refresh (and rotate) the pair.
TEST_F(TeslaDriverTest, ExpiresInOutOfRangeIsBounded) {
  for (const std::string expires : {"0", "-5", "1e308"}) {
    create();
    oemlink_conn* car = open_car(0, kVin1, "123");
    script(200, R"({"access_token":")" + access1 + R"(","refresh_token":"r1","expires_in":)" +
                    expires + "}");
    script(200, region_reply(kRegion));
    script(200, list_reply({{"123", kVin1, "online"}}));
    script(200, vd_body(kVin1));
    EXPECT_EQ(d->poll(car).status, OEMLINK_OK) << expires;
    const int64_t lifetime = expires == "1e308" ? 30LL * 86'400'000 : 60'000;
    EXPECT_EQ(secret(car, "access_expires_at_ms"), std::to_string(host().now_ms + lifetime));
    script(200, vd_body(kVin1, 56));
    EXPECT_EQ(d->poll(car).status, OEMLINK_OK) << expires;
    EXPECT_EQ(counter("token_refreshes"), 1u) << expires;
    d.reset();
  }
}

// Review: a 200 that carries a new refresh token but no usable access token still rotated the
// pair at Tesla: the new refresh token is stored and used next, never lost.
TEST_F(TeslaDriverTest, BadAnswerWithANewRefreshTokenKeepsIt) {
  create();
  oemlink_conn* car = open_car(0, kVin1, "123");
  script(200, R"({"refresh_token":"r1","expires_in":28800})");
  EXPECT_EQ(d->poll(car).status, OEMLINK_RETRY);
  EXPECT_EQ(counter("token_refresh_bad_answers"), 1u);
  EXPECT_EQ(secret(car, "refresh_token"), "r1");
  host().now_ms += 30'000;
  script_login(access1, "r2", {{"123", kVin1, "online"}});
  script(200, vd_body(kVin1));
  EXPECT_EQ(d->poll(car).status, OEMLINK_OK);
  EXPECT_NE(host().requests[1].body.find("refresh_token=r1"), std::string::npos);
  EXPECT_EQ(secret(car, "refresh_token"), "r2");
}

// One rotation is one durable write, whatever the account's size (each is an fsync on the host's
// event loop); the others copy it in their own polls, one write per poll, once.
TEST_F(TeslaDriverTest, ARotationIsOneWriteAndEachMemberCopiesItOnItsNextPoll) {
  create();
  oemlink_conn* a = open_car(0, kVin1, "1", "alice");
  oemlink_conn* b = open_car(1, kVin2, "2", "alice");
  oemlink_conn* c = open_car(2, "5YJ3E1EA7KF000003", "3", "alice");
  const std::vector<ListedCar> cars = {
      {"1", kVin1, "online"}, {"2", kVin2, "online"}, {"3", "5YJ3E1EA7KF000003", "online"}};
  script_login(access1, "r1", cars);
  script(200, vd_body(kVin2));
  EXPECT_EQ(d->poll(b).status, OEMLINK_OK);
  EXPECT_EQ(host().secret_put_calls, 1);
  EXPECT_EQ(secret(b, "refresh_token"), "r1");  // the connection that refreshed
  EXPECT_EQ(secret(b, "issued_at_ms"), std::to_string(host().now_ms));
  EXPECT_EQ(secret(a, "refresh_token"), "r0");
  EXPECT_EQ(secret(c, "refresh_token"), "r0");

  host().now_ms += 1000;
  script(200, vd_body(kVin1));
  EXPECT_EQ(d->poll(a).status, OEMLINK_OK);
  EXPECT_EQ(host().secret_put_calls, 2);
  EXPECT_EQ(secret(a, "refresh_token"), "r1");
  EXPECT_EQ(secret(a, "access_token"), access1);
  EXPECT_EQ(secret(a, "issued_at_ms"), secret(b, "issued_at_ms"));
  EXPECT_EQ(secret(c, "refresh_token"), "r0");  // not its poll yet
  script(200, vd_body(kVin1));
  EXPECT_EQ(d->poll(a).status, OEMLINK_OK);
  EXPECT_EQ(host().secret_put_calls, 2);  // up to date: no second write
  script(200, vd_body("5YJ3E1EA7KF000003"));
  EXPECT_EQ(d->poll(c).status, OEMLINK_OK);
  EXPECT_EQ(host().secret_put_calls, 3);
  EXPECT_EQ(secret(c, "refresh_token"), "r1");
  script(200, vd_body(kVin2));
  script(200, vd_body("5YJ3E1EA7KF000003"));
  d->poll(b);
  d->poll(c);
  EXPECT_EQ(host().secret_put_calls, 3);
  EXPECT_EQ(counter("token_refreshes"), 1u);
  EXPECT_EQ(counter("token_persist_failures"), 0u);
}

TEST_F(TeslaDriverTest, AFailedWriteFallsOverToTheNextMember) {
  create();
  oemlink_conn* a = open_car(0, kVin1, "1", "alice");
  oemlink_conn* b = open_car(1, kVin2, "2", "alice");
  host().fail_next_secret_puts = 1;  // b's own write
  script_login(access1, "r1", {{"1", kVin1, "online"}, {"2", kVin2, "online"}});
  script(200, vd_body(kVin2));
  Completion& done = d->poll(b);
  EXPECT_EQ(done.status, OEMLINK_OK) << done.message;  // durable on a: usable
  EXPECT_EQ(host().secret_put_calls, 2);
  EXPECT_EQ(secret(b, "refresh_token"), "r0");
  EXPECT_EQ(secret(a, "refresh_token"), "r1");
  EXPECT_EQ(counter("token_persist_failures"), 1u);
  EXPECT_EQ(host().requests.at(1).header("Authorization"), "Bearer " + access1);
  // b catches up on its next poll.
  script(200, vd_body(kVin2));
  EXPECT_EQ(d->poll(b).status, OEMLINK_OK);
  EXPECT_EQ(host().secret_put_calls, 3);
  EXPECT_EQ(secret(b, "refresh_token"), "r1");
}

TEST_F(TeslaDriverTest, ACopyThatFailsIsTriedAgainOnTheNextPoll) {
  create();
  oemlink_conn* a = open_car(0, kVin1, "1", "alice");
  oemlink_conn* b = open_car(1, kVin2, "2", "alice");
  script_login(access1, "r1", {{"1", kVin1, "online"}, {"2", kVin2, "online"}});
  script(200, vd_body(kVin1));
  d->poll(a);
  host().fail_next_secret_puts = 1;
  script(200, vd_body(kVin2));
  EXPECT_EQ(d->poll(b).status, OEMLINK_OK);  // the copy is not the poll's business
  EXPECT_EQ(secret(b, "refresh_token"), "r0");
  EXPECT_EQ(counter("token_persist_failures"), 1u);
  script(200, vd_body(kVin2));
  d->poll(b);
  EXPECT_EQ(secret(b, "refresh_token"), "r1");
  EXPECT_EQ(host().secret_put_calls, 3);
}

// Polls of other members while a refresh is in flight write nothing: the pair they would copy is
// about to be spent.
TEST_F(TeslaDriverTest, NoCopyWhileARefreshIsInFlight) {
  create();
  oemlink_conn* a = open_car(0, kVin1, "1", "alice");
  oemlink_conn* b = open_car(1, kVin2, "2", "alice");
  script_login(access1, "r1", {{"1", kVin1, "online"}, {"2", kVin2, "online"}});
  script(200, vd_body(kVin1));
  d->poll(a);
  ASSERT_EQ(host().secret_put_calls, 1);
  ASSERT_EQ(secret(b, "refresh_token"), "r0");

  host().now_ms += 28'800'000;  // expired: the next poll refreshes
  host().answer_http_inline = false;
  Completion& ca = d->poll(a);
  ASSERT_EQ(host().requests.back().url, kAuth + "/oauth2/v3/token");
  Completion& cb = d->poll(b);  // waits behind the refresh; copies nothing
  EXPECT_EQ(host().secret_put_calls, 1);
  EXPECT_EQ(secret(b, "refresh_token"), "r0");
  script(200, token_reply(access2, "r2"));
  script(200, list_reply({{"1", kVin1, "online"}, {"2", kVin2, "online"}}));
  script(200, vd_body(kVin1));
  script(200, vd_body(kVin2));
  while (host().deliver_http() > 0) {
  }
  EXPECT_EQ(ca.status, OEMLINK_OK);
  EXPECT_EQ(cb.status, OEMLINK_OK);
  EXPECT_EQ(host().secret_put_calls, 2);  // the rotation, on a
  EXPECT_EQ(secret(a, "refresh_token"), "r2");
  EXPECT_EQ(secret(b, "refresh_token"), "r0");
  host().answer_http_inline = true;
  script(200, vd_body(kVin2));
  d->poll(b);
  EXPECT_EQ(host().secret_put_calls, 3);
  EXPECT_EQ(secret(b, "refresh_token"), "r2");  // straight to the newest
}

// What a crash leaves (the newest pair on one member only) is what the next start uses.
TEST_F(TeslaDriverTest, ARestartUsesTheNewestPairWhicheverMemberHoldsIt) {
  create();
  oemlink_conn* a = open_car(0, kVin1, "1", "alice");
  open_car(1, kVin2, "2", "alice");
  script_login(access1, "r1", {{"1", kVin1, "online"}, {"2", kVin2, "online"}});
  script(200, vd_body(kVin1));
  d->poll(a);
  const auto stored = host().secrets;  // r1 on a only: b never polled
  const int64_t now = host().now_ms;

  create();  // a new process: same store
  host().secrets = stored;
  host().now_ms = now + 1000;
  open_car(0, kVin1, "1", "alice", "");
  oemlink_conn* b = open_car(1, kVin2, "2", "alice", "");
  ASSERT_EQ(secret(b, "refresh_token"), "r0");
  script(200, region_reply(kRegion));
  script(200, list_reply({{"1", kVin1, "online"}, {"2", kVin2, "online"}}));
  script(200, vd_body(kVin2));
  EXPECT_EQ(d->poll(b).status, OEMLINK_OK);
  // a's stored access token, still valid: no refresh, no refusal of the spent r0.
  EXPECT_EQ(counter("token_refreshes"), 0u);
  for (const auto& r : host().requests) EXPECT_NE(r.url, kAuth + "/oauth2/v3/token");
  EXPECT_EQ(host().requests.at(0).header("Authorization"), "Bearer " + access1);

  // When it expires, the refresh sends a's r1, not b's spent r0.
  host().now_ms += 28'800'000;
  script(200, token_reply(access2, "r2"));
  script(200, list_reply({{"1", kVin1, "online"}, {"2", kVin2, "online"}}));
  script(200, vd_body(kVin2));
  EXPECT_EQ(d->poll(b).status, OEMLINK_OK);
  const auto& token_req = host().requests.at(3);
  EXPECT_EQ(token_req.body, "grant_type=refresh_token&client_id=cid&refresh_token=r1");
}

}  // namespace
}  // namespace oemlink::tesla::test
