// Cars of one Smartcar consent share one rotating refresh token (token_chain.hpp): one refresh
// for all, one write, the others copy the newest pair on their next poll, and a refused refresh
// puts every car of the consent in NEEDS_REAUTH. Through the C ABI on the SDK's FakeHost.
#include "smartcar_fixture.hpp"

namespace oemlink::smartcar::test {
namespace {

constexpr std::string_view kTokenUrl = "http://auth.test/oauth/token";

std::string token_answer(std::string_view access, std::string_view refresh) {
  return R"({"access_token":")" + std::string(access) +
         R"(","token_type":"Bearer","expires_in":7200,"refresh_token":")" + std::string(refresh) +
         "\"}";
}

std::string one_signal_page() {
  return v3_page({v3_signal("odometer-traveleddistance", R"({"value":100,"unit":"km"})")});
}

struct Fleet {
  Fleet() : driver(smartcar_descriptor(), settings_json()) {
    if (!driver.created()) ADD_FAILURE() << driver.create_error();
  }
  FakeHost& host() { return driver.host; }

  // A car of `user` (none: "") whose stored pair came from consent `grant`.
  oemlink_conn* car(const std::string& id, const std::string& vehicle, const std::string& user,
                    const std::string& grant, const std::string& access, const std::string& refresh,
                    int64_t expires_at_ms, int64_t issued_at_ms) {
    ConnSpec spec;
    spec.id = id;
    spec.identifiers_json = R"({"smartcar_id":")" + vehicle + "\"" +
                            (user.empty() ? "" : R"(,"smartcar_user":")" + user + "\"") + "}";
    oemlink_conn* conn = driver.open(spec);
    if (!conn) {
      ADD_FAILURE() << driver.open_error();
      return nullptr;
    }
    auto& s = host().secrets;
    s[{conn, "access_token"}] = access;
    s[{conn, "refresh_token"}] = refresh;
    s[{conn, "access_expires_at_ms"}] = std::to_string(expires_at_ms);
    s[{conn, "issued_at_ms"}] = std::to_string(issued_at_ms);
    if (!grant.empty()) s[{conn, "grant_id"}] = grant;
    return conn;
  }
  std::string secret(oemlink_conn* conn, const std::string& key) {
    auto it = host().secrets.find({conn, key});
    return it == host().secrets.end() ? std::string() : it->second;
  }
  size_t token_requests() {
    size_t n = 0;
    for (const RecordedRequest& r : host().requests) n += r.url == kTokenUrl ? 1 : 0;
    return n;
  }
  std::vector<const RecordedState*> states_of(oemlink_conn* conn) {
    std::vector<const RecordedState*> out;
    for (const RecordedState& s : host().states)
      if (s.conn == conn) out.push_back(&s);
    return out;
  }

  DriverUnderTest driver;
};

TEST(SmartcarTokenChain, CarsOfOneConsentRefreshOnceAndTheOthersCopyThePair) {
  Fleet f;
  const int64_t expired = f.host().now_ms - 1;
  oemlink_conn* a = f.car("a", "veh-a", "user-1", "g1", "at-0", "rt-0", expired, 1000);
  oemlink_conn* b = f.car("b", "veh-b", "user-1", "g1", "at-0", "rt-0", expired, 1000);
  // Both polls start before Smartcar answers the refresh: the second waits for the first.
  Completion& pa = f.driver.poll(a);
  Completion& pb = f.driver.poll(b);
  ASSERT_EQ(f.host().requests.size(), 1u);
  EXPECT_EQ(f.host().requests[0].url, kTokenUrl);
  EXPECT_EQ(f.host().requests[0].body, "grant_type=refresh_token&refresh_token=rt-0");
  f.host().script_http(HttpReply::with_status(200, token_answer("at-1", "rt-1")));
  f.host().deliver_http();
  ASSERT_EQ(f.host().requests.size(), 3u);  // both cars' signals, with the one new token
  EXPECT_EQ(f.host().requests[1].header("Authorization"), "Bearer at-1");
  EXPECT_EQ(f.host().requests[2].header("Authorization"), "Bearer at-1");
  f.host().script_http(HttpReply::with_status(200, one_signal_page()));
  f.host().script_http(HttpReply::with_status(200, one_signal_page()));
  f.host().deliver_http();
  EXPECT_EQ(pa.status, OEMLINK_OK) << pa.message;
  EXPECT_EQ(pb.status, OEMLINK_OK) << pb.message;
  // One durable write, on the car whose poll asked; the other still stores the used pair.
  EXPECT_EQ(f.host().secret_put_calls, 1);
  EXPECT_EQ(f.secret(a, "refresh_token"), "rt-1");
  EXPECT_EQ(f.secret(a, "issued_at_ms"), std::to_string(f.host().now_ms));
  EXPECT_EQ(f.secret(b, "refresh_token"), "rt-0");

  // B's next poll copies the newest pair first, without refreshing.
  f.host().answer_http_inline = true;
  f.host().script_http(HttpReply::with_status(200, one_signal_page()));
  Completion& pb2 = f.driver.poll(b);
  EXPECT_EQ(pb2.status, OEMLINK_OK) << pb2.message;
  EXPECT_EQ(f.secret(b, "refresh_token"), "rt-1");
  EXPECT_EQ(f.secret(b, "access_token"), "at-1");
  EXPECT_EQ(f.host().secret_put_calls, 2);
  EXPECT_EQ(f.token_requests(), 1u);
  // And once copied, no more writes.
  f.host().script_http(HttpReply::with_status(200, one_signal_page()));
  f.driver.poll(b);
  EXPECT_EQ(f.host().secret_put_calls, 2);
}

TEST(SmartcarTokenChain, ATokenRefusedTwiceIsRefreshedOnce) {
  Fleet f;
  const int64_t valid = f.host().now_ms + 3'600'000;
  oemlink_conn* a = f.car("a", "veh-a", "user-1", "g1", "at-0", "rt-0", valid, 1000);
  oemlink_conn* b = f.car("b", "veh-b", "user-1", "g1", "at-0", "rt-0", valid, 1000);
  Completion& pa = f.driver.poll(a);
  Completion& pb = f.driver.poll(b);
  ASSERT_EQ(f.host().requests.size(), 2u);
  const std::string unauthorized =
      R"({"type":"AUTHENTICATION","code":null,"description":"expired","resolution":{"type":null}})";
  f.host().script_http(HttpReply::with_status(401, unauthorized));
  f.host().script_http(HttpReply::with_status(401, unauthorized));
  f.host().deliver_http();
  // A's 401 started the refresh; B's 401 for the same token joined it.
  ASSERT_EQ(f.host().requests.size(), 3u);
  EXPECT_EQ(f.token_requests(), 1u);
  f.host().script_http(HttpReply::with_status(200, token_answer("at-1", "rt-1")));
  f.host().deliver_http();
  f.host().script_http(HttpReply::with_status(200, one_signal_page()));
  f.host().script_http(HttpReply::with_status(200, one_signal_page()));
  f.host().deliver_http();
  EXPECT_EQ(pa.status, OEMLINK_OK) << pa.message;
  EXPECT_EQ(pb.status, OEMLINK_OK) << pb.message;
  EXPECT_EQ(f.token_requests(), 1u);
  EXPECT_EQ(f.host().requests.back().header("Authorization"), "Bearer at-1");
}

TEST(SmartcarTokenChain, ARefusedRefreshPutsEveryCarOfTheConsentInNeedsReauth) {
  Fleet f;
  const int64_t expired = f.host().now_ms - 1;
  oemlink_conn* a = f.car("a", "veh-a", "user-1", "g1", "at-0", "rt-0", expired, 1000);
  oemlink_conn* b = f.car("b", "veh-b", "user-1", "g1", "at-0", "rt-0", expired, 1000);
  oemlink_conn* other =
      f.car("c", "veh-c", "user-2", "g9", "at-9", "rt-9", f.host().now_ms + 3'600'000, 1000);
  f.host().answer_http_inline = true;
  f.host().script_http(HttpReply::with_status(
      400, R"({"error":"invalid_grant","error_description":"Invalid or expired refresh token."})"));
  Completion& pa = f.driver.poll(a);
  EXPECT_EQ(pa.status, OEMLINK_ERROR);
  auto sa = f.states_of(a), sb = f.states_of(b);
  ASSERT_EQ(sa.size(), 1u);
  ASSERT_EQ(sb.size(), 1u);  // told at once: the host polls neither any more
  EXPECT_EQ(sa[0]->state, OEMLINK_STATE_NEEDS_REAUTH);
  EXPECT_EQ(sb[0]->state, OEMLINK_STATE_NEEDS_REAUTH);
  EXPECT_NE(sb[0]->reason.find("vehicle_id=veh-b"), std::string::npos) << sb[0]->reason;
  EXPECT_NE(sb[0]->reason.find("invalid_grant"), std::string::npos) << sb[0]->reason;
  EXPECT_EQ(sb[0]->reason.find("rt-0"), std::string::npos) << sb[0]->reason;
  EXPECT_TRUE(f.states_of(other).empty());
  // A poll of B (a poll-now) does not try the dead token again.
  Completion& pb = f.driver.poll(b);
  EXPECT_EQ(pb.status, OEMLINK_ERROR);
  EXPECT_EQ(f.token_requests(), 1u);
}

TEST(SmartcarTokenChain, TheNewestStoredPairWinsAtFirstUse) {
  Fleet f;
  const int64_t valid = f.host().now_ms + 3'600'000;
  oemlink_conn* a = f.car("a", "veh-a", "user-1", "g1", "at-old", "rt-old", valid, 1000);
  // B is never polled: A's first poll reads the pair of every car of the user.
  oemlink_conn* b = f.car("b", "veh-b", "user-1", "g1", "at-new", "rt-new", valid, 2000);
  ASSERT_NE(b, nullptr);
  f.host().answer_http_inline = true;
  f.host().script_http(HttpReply::with_status(200, one_signal_page()));
  Completion& pa = f.driver.poll(a);
  EXPECT_EQ(pa.status, OEMLINK_OK) << pa.message;
  EXPECT_EQ(f.host().requests.back().header("Authorization"), "Bearer at-new");
  f.host().script_http(HttpReply::with_status(200, one_signal_page()));
  f.driver.poll(a);
  EXPECT_EQ(f.secret(a, "refresh_token"), "rt-new");  // copied on its next poll
  EXPECT_EQ(f.token_requests(), 0u);
}

TEST(SmartcarTokenChain, TwoConsentsOfOneUserKeepTheirOwnTokens) {
  // The same owner linked a second car later (or re-authenticated one with single_select): that
  // consent's token reaches only its own car, so it must not replace the first consent's.
  Fleet f;
  const int64_t expired = f.host().now_ms - 1;
  oemlink_conn* a = f.car("a", "veh-a", "user-1", "g1", "at-0", "rt-g1", expired, 1000);
  oemlink_conn* d = f.car("d", "veh-d", "user-1", "g2", "at-5", "rt-g2", expired, 5000);
  f.host().answer_http_inline = true;
  f.host().script_http(HttpReply::with_status(200, token_answer("at-1", "rt-g1-1")));
  f.host().script_http(HttpReply::with_status(200, one_signal_page()));
  EXPECT_EQ(f.driver.poll(a).status, OEMLINK_OK);
  f.host().script_http(HttpReply::with_status(200, token_answer("at-6", "rt-g2-1")));
  f.host().script_http(HttpReply::with_status(200, one_signal_page()));
  EXPECT_EQ(f.driver.poll(d).status, OEMLINK_OK);
  ASSERT_EQ(f.token_requests(), 2u);
  EXPECT_EQ(f.host().requests[0].body, "grant_type=refresh_token&refresh_token=rt-g1");
  EXPECT_EQ(f.host().requests[2].body, "grant_type=refresh_token&refresh_token=rt-g2");
  EXPECT_EQ(f.secret(a, "refresh_token"), "rt-g1-1");
  EXPECT_EQ(f.secret(d, "refresh_token"), "rt-g2-1");
}

TEST(SmartcarTokenChain, CarsNamingNoUserKeepPerConnectionTokens) {
  Fleet f;
  const int64_t expired = f.host().now_ms - 1;
  oemlink_conn* a = f.car("a", "veh-a", "", "", "at-0", "rt-0", expired, 0);
  oemlink_conn* b = f.car("b", "veh-b", "", "", "at-0", "rt-0", expired, 0);
  f.host().answer_http_inline = true;
  f.host().script_http(HttpReply::with_status(200, token_answer("at-1", "rt-1")));
  f.host().script_http(HttpReply::with_status(200, one_signal_page()));
  EXPECT_EQ(f.driver.poll(a).status, OEMLINK_OK);
  f.host().script_http(HttpReply::with_status(200, token_answer("at-2", "rt-2")));
  f.host().script_http(HttpReply::with_status(200, one_signal_page()));
  EXPECT_EQ(f.driver.poll(b).status, OEMLINK_OK);
  EXPECT_EQ(f.token_requests(), 2u);
  EXPECT_EQ(f.secret(a, "refresh_token"), "rt-1");
  EXPECT_EQ(f.secret(b, "refresh_token"), "rt-2");
}

TEST(SmartcarTokenChain, WhenTheAskingCarCannotStoreThePairAnotherMemberDoes) {
  Fleet f;
  const int64_t expired = f.host().now_ms - 1;
  oemlink_conn* a = f.car("a", "veh-a", "user-1", "g1", "at-0", "rt-0", expired, 1000);
  oemlink_conn* b = f.car("b", "veh-b", "user-1", "g1", "at-0", "rt-0", expired, 1000);
  f.host().answer_http_inline = true;
  f.host().fail_next_secret_puts = 1;  // A's write fails, B's succeeds
  f.host().script_http(HttpReply::with_status(200, token_answer("at-1", "rt-1")));
  f.host().script_http(HttpReply::with_status(200, one_signal_page()));
  EXPECT_EQ(f.driver.poll(a).status, OEMLINK_OK);
  EXPECT_EQ(f.secret(a, "refresh_token"), "rt-0");
  EXPECT_EQ(f.secret(b, "refresh_token"), "rt-1");  // durable somewhere before it was used
  EXPECT_EQ(f.host().counters["token_store_failures"], 1u);
  f.host().script_http(HttpReply::with_status(200, one_signal_page()));
  EXPECT_EQ(f.driver.poll(a).status, OEMLINK_OK);
  EXPECT_EQ(f.secret(a, "refresh_token"), "rt-1");
  EXPECT_EQ(f.token_requests(), 1u);
}

}  // namespace
}  // namespace oemlink::smartcar::test
