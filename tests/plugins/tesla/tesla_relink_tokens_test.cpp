// A linked car brings a token pair from a new consent, which Tesla issued after (and so voided)
// whatever the account's chain holds: when a connection opens with a pair newer (issued_at_ms)
// than its chain's, the chain adopts it and the other members copy it lazily. Re-authentication
// (close, new secrets, open) and linking a second car of a linked account both rely on it.
#include "tesla_driver_fixture.hpp"

namespace oemlink::tesla::test {
namespace {

std::string vd_body(const std::string& vin) {
  return R"({"response":{"vin":")" + vin +
         R"(","state":"online","charge_state":{"battery_level":50,"timestamp":1700000000000}}})";
}

class TeslaRelinkTest : public TeslaDriverTest {
 protected:
  // Opens the `index`-th connection (in opening order) holding a whole pair, as a linked car's
  // secrets are stored by the host.
  oemlink_conn* open_linked(int index, const std::string& vin, const std::string& tesla_id,
                            const std::string& access, const std::string& refresh,
                            int64_t issued_at_ms) {
    auto* handle = reinterpret_cast<oemlink_conn*>(static_cast<uintptr_t>(0x1000 + index));
    host().secrets[{handle, "access_token"}] = access;
    host().secrets[{handle, "refresh_token"}] = refresh;
    host().secrets[{handle, "access_expires_at_ms"}] = std::to_string(issued_at_ms + 28'800'000);
    host().secrets[{handle, "issued_at_ms"}] = std::to_string(issued_at_ms);
    ConnSpec spec;
    spec.id = "linked" + std::to_string(index);
    spec.vin = vin;
    spec.identifiers_json = R"({"tesla_id":")" + tesla_id + R"(","account":"user-1"})";
    oemlink_conn* c = d->open(spec);
    EXPECT_EQ(c, handle) << d->open_error();
    return c;
  }
  size_t token_requests() {
    size_t n = 0;
    for (const auto& r : host().requests) n += r.url == kAuth + "/oauth2/v3/token";
    return n;
  }
  std::string access3 = jwt_with_scopes({"openid", "offline_access", "vehicle_device_data"}, "3");
};

TEST_F(TeslaRelinkTest, ASecondLinkedCarOfTheAccountBringsItsNewerPairToTheChain) {
  create();
  const int64_t t0 = host().now_ms;
  oemlink_conn* car0 = open_linked(0, kVin1, "123", access1, "r-first", t0 - 60'000);
  script(200, region_reply(kRegion));
  script(200, list_reply({{"123", kVin1, "online"}, {"456", kVin2, "online"}}));
  script(200, vd_body(kVin1));
  ASSERT_EQ(d->poll(car0).status, OEMLINK_OK);
  EXPECT_EQ(host().requests.back().header("Authorization"), "Bearer " + access1);

  // The owner links the second car: a new consent, a new pair; Tesla voided r-first.
  host().now_ms += 1000;
  oemlink_conn* car1 = open_linked(1, kVin2, "456", access2, "r-second", host().now_ms);
  script(200, vd_body(kVin1));
  ASSERT_EQ(d->poll(car0).status, OEMLINK_OK);
  EXPECT_EQ(host().requests.back().header("Authorization"), "Bearer " + access2)
      << "the first car must use the newer pair at once";
  // Its own store catches up on its next poll (one write), never the other way round.
  script(200, vd_body(kVin1));
  ASSERT_EQ(d->poll(car0).status, OEMLINK_OK);
  EXPECT_EQ(secret(car0, "refresh_token"), "r-second");
  EXPECT_EQ(secret(car0, "issued_at_ms"), std::to_string(host().now_ms));
  EXPECT_EQ(secret(car1, "refresh_token"), "r-second");
  script(200, vd_body(kVin2));
  ASSERT_EQ(d->poll(car1).status, OEMLINK_OK);
  EXPECT_EQ(host().requests.back().header("Authorization"), "Bearer " + access2);
  EXPECT_EQ(token_requests(), 0u);
  EXPECT_EQ(counter("token_persist_failures"), 0u);
}

TEST_F(TeslaRelinkTest, ReauthenticatingTheCarRevivesAnAccountThatNeededIt) {
  create();
  oemlink_conn* car = open_car(0, kVin1, "123", "user-1", "r-spent");
  script(401, R"({"error":"login_required","error_description":"Login required"})");
  EXPECT_NE(d->poll(car).status, OEMLINK_OK);
  EXPECT_EQ(last_state().state, OEMLINK_STATE_NEEDS_REAUTH);
  const size_t refreshes = token_requests();

  // The host's re-authentication: close, replace the secrets, open again.
  d->close(car);
  host().now_ms += 5000;
  oemlink_conn* again = open_linked(1, kVin1, "123", access2, "r-relinked", host().now_ms);
  script(200, region_reply(kRegion));
  script(200, list_reply({{"123", kVin1, "online"}}));
  script(200, vd_body(kVin1));
  Completion& done = d->poll(again);
  EXPECT_EQ(done.status, OEMLINK_OK) << done.message;
  EXPECT_EQ(last_state().state, OEMLINK_STATE_OK);
  EXPECT_EQ(host().requests.back().header("Authorization"), "Bearer " + access2);
  EXPECT_EQ(token_requests(), refreshes) << "the spent token must not be tried again";
}

TEST_F(TeslaRelinkTest, AnUnstoredRotatedPairNeverOverwritesANewerLinkedPair) {
  create();
  oemlink_conn* car0 = open_car(0, kVin1, "123", "user-1", "r0");
  host().fail_next_secret_puts = 1;
  script(200, token_reply(access1, "r1"));
  ASSERT_EQ(d->poll(car0).status, OEMLINK_RETRY);  // r1 held unstored, never used

  // The owner links another car meanwhile: Tesla's newer pair voids r1.
  host().now_ms += 1000;
  oemlink_conn* car1 = open_linked(1, kVin2, "456", access2, "r-linked", host().now_ms);
  script(200, region_reply(kRegion));
  script(200, list_reply({{"123", kVin1, "online"}, {"456", kVin2, "online"}}));
  script(200, vd_body(kVin2));
  Completion& done = d->poll(car1);
  EXPECT_EQ(done.status, OEMLINK_OK) << done.message;
  EXPECT_EQ(secret(car1, "refresh_token"), "r-linked") << "overwritten by the dead pair";
  EXPECT_EQ(host().requests.back().header("Authorization"), "Bearer " + access2);
  // The first car copies the live pair, not the dead one.
  script(200, vd_body(kVin1));
  ASSERT_EQ(d->poll(car0).status, OEMLINK_OK);
  EXPECT_EQ(secret(car0, "refresh_token"), "r-linked");
  EXPECT_EQ(token_requests(), 1u);
  for (const auto& r : host().requests) EXPECT_NE(r.header("Authorization"), "Bearer " + access1);
}

TEST_F(TeslaRelinkTest, APairLinkedDuringARefreshSurvivesItAsTheFallBack) {
  create();
  oemlink_conn* car0 = open_car(0, kVin1, "123", "user-1", "r0");
  host().answer_http_inline = false;
  Completion& first = d->poll(car0);
  ASSERT_EQ(host().pending_http(), 1u);  // the refresh with r0 is in flight
  oemlink_conn* car1 = open_linked(1, kVin2, "456", access2, "r-linked", host().now_ms + 5);
  script(200, token_reply(access1, "r1"));
  script(200, region_reply(kRegion));
  script(200, list_reply({{"123", kVin1, "online"}, {"456", kVin2, "online"}}));
  script(200, vd_body(kVin1));
  while (host().deliver_http() > 0) {
  }
  ASSERT_EQ(first.status, OEMLINK_OK) << first.message;
  host().answer_http_inline = true;

  // Tesla had issued r-linked after r1 (it voided r1): the next refresh is refused, and the
  // linked pair, kept through the refresh, is tried instead of giving up.
  host().now_ms += 28'800'000;
  script(401, R"({"error":"login_required"})");
  script(200, token_reply(access3, "r-linked-2"));
  script(200, list_reply({{"123", kVin1, "online"}, {"456", kVin2, "online"}}));
  script(200, vd_body(kVin1));
  Completion& later = d->poll(car0);
  EXPECT_EQ(later.status, OEMLINK_OK) << later.message;
  std::vector<std::string> refresh_bodies;
  for (const auto& r : host().requests)
    if (r.url == kAuth + "/oauth2/v3/token") refresh_bodies.push_back(r.body);
  ASSERT_EQ(refresh_bodies.size(), 3u);
  EXPECT_NE(refresh_bodies[1].find("refresh_token=r1"), std::string::npos);
  EXPECT_NE(refresh_bodies[2].find("refresh_token=r-linked"), std::string::npos);
  EXPECT_EQ(secret(car0, "refresh_token"), "r-linked-2");
  (void)car1;
}

}  // namespace
}  // namespace oemlink::tesla::test
