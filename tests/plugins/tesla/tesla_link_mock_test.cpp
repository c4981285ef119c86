// The built driver links cars against the mock Tesla as it would against Tesla: its consent URL
// is opened like a browser, the owner approves, the code comes back, the driver exchanges it
// (PKCE) and lists the cars; the secrets it hands over then open a connection whose poll the
// mock serves. A second consent of the same account (which voids the first pair) keeps both cars
// polling: the chain adopts the newer pair. The fake host's HTTP requests are carried to the mock
// over real HTTP.
#include "tesla_link_abi.hpp"

#include "tests/tools/mock_tesla/consent_support.hpp"

#include <oemlink/testkit/driver_harness.hpp>

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace oemlink::tesla::test {
namespace {

using mock_oem::testing::HttpAnswer;
using mock_oem::testing::MockTesla;

const std::string kRedirect = "https://daemon.example/link/tesla/callback";
const std::string kVerifier = mock_oem::testing::kVerifier;
const std::string kChallenge = mock_oem::testing::kChallenge;

const oemlink_driver* tesla_driver() {
  static const oemlink_driver* d = [] {
    std::string error;
    const oemlink_driver* desc =
        testkit::load_driver(std::string(OEMLINK_PLUGIN_DIR) + "/oemlink-driver-tesla.so", &error);
    if (!desc) ADD_FAILURE() << "cannot load the tesla driver: " << error;
    return desc;
  }();
  return d;
}

// Answers the fake host's waiting requests from the mock, one at a time, until none waits.
void carry(testkit::FakeHost& host) {
  while (host.pending_http() > 0) {
    ASSERT_EQ(host.pending_http(), 1u) << "the link and poll paths send one request at a time";
    const testkit::RecordedRequest req = host.requests.back();
    std::vector<std::string> headers;
    for (const auto& [k, v] : req.headers) headers.push_back(k + ": " + v);
    const HttpAnswer a = mock_oem::testing::http(req.method, req.url, req.body, headers);
    if (a.status == 0) {
      host.script_http(testkit::HttpReply::transport_failure("no answer from the mock"));
    } else {
      testkit::Headers h(a.headers.begin(), a.headers.end());
      host.script_http(testkit::HttpReply::with_status(int(a.status), a.body, h));
    }
    host.deliver_http();
  }
}

class TeslaLinkAgainstMock : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(mock.running());
    d = std::make_unique<testkit::DriverUnderTest>(
        tesla_driver(), R"({"client_id":"mock-client-id","client_secret":"mock-client-secret",)"
                        R"("auth_base_url":")" +
                            mock.base() + R"(","authorize_base_url":")" + mock.base() +
                            R"(","fleet_api_base_url":")" + mock.base() + "\"}");
    ASSERT_TRUE(d->created()) << d->create_error();
    link = std::make_unique<LinkAbi>(*d);
    ASSERT_NE(link->ext, nullptr);
  }

  // Browser part: the driver's URL → consent page → approve as `account` → the callback query.
  std::map<std::string, std::string> consent(const std::string& state, const std::string& account) {
    std::string url;
    EXPECT_EQ(link->authorize({state, kRedirect, kChallenge, ""}, &url), OEMLINK_OK) << url;
    const HttpAnswer page = mock_oem::testing::http("GET", url);
    EXPECT_EQ(page.status, 200) << page.body;
    const HttpAnswer decided = mock_oem::testing::decide(
        mock, mock_oem::testing::request_id(page.body), "approve", account);
    EXPECT_EQ(decided.status, 302) << decided.body;
    const std::string location = decided.headers.at("location");
    EXPECT_EQ(location.rfind(kRedirect + "?", 0), 0u) << location;
    auto q = mock_oem::testing::query_params(location);
    EXPECT_EQ(q["state"], state);
    return q;
  }

  ExchangeOutcome& exchange(const std::string& code) {
    ExchangeOutcome& ex = link->exchange({code, "code=" + code, kRedirect, kVerifier});
    carry(d->host);
    EXPECT_EQ(ex.calls, 1);
    return ex;
  }
  VehiclesOutcome& list(const LinkSecrets& secrets) {
    VehiclesOutcome& v = link->list(secrets);
    carry(d->host);
    EXPECT_EQ(v.calls, 1);
    return v;
  }
  // What the host does with a linked car: store its secrets, open it.
  oemlink_conn* open_linked(const LinkVehicle& v, const LinkSecrets& secrets) {
    auto* handle = reinterpret_cast<oemlink_conn*>(static_cast<uintptr_t>(0x1000 + opened++));
    for (const auto& [k, val] : secrets) d->host.secrets[{handle, k}] = val;
    testkit::ConnSpec spec;
    spec.id = "linked-" + v.vehicle_id;
    spec.vin = v.vin;
    spec.identifiers_json = v.identifiers_json;
    oemlink_conn* c = d->open(spec);
    EXPECT_EQ(c, handle) << d->open_error();
    return c;
  }
  testkit::Completion& poll(oemlink_conn* c) {
    testkit::Completion& done = d->poll(c);
    carry(d->host);
    return done;
  }
  boost::json::array issued() {
    const HttpAnswer a = mock_oem::testing::http("GET", mock.base() + "/mock/tokens");
    return a.json().as_object().at("tokens").as_array();
  }

  MockTesla mock{{"--account-vins", std::string("alice=") + mock_oem::testing::kVinModel3 + "," +
                                        mock_oem::testing::kVinS85}};
  std::unique_ptr<testkit::DriverUnderTest> d;
  std::unique_ptr<LinkAbi> link;
  int opened = 0;
};

TEST_F(TeslaLinkAgainstMock, ALinkedCarPollsWithTheTokensTheLinkerReturned) {
  const auto q = consent("state-1", "alice");
  ExchangeOutcome& ex = exchange(q.at("code"));
  ASSERT_EQ(ex.status, OEMLINK_OK) << ex.message;
  VehiclesOutcome& listed = list(ex.secrets);
  ASSERT_EQ(listed.status, OEMLINK_OK) << listed.message;
  ASSERT_EQ(listed.vehicles.size(), 2u);
  const LinkVehicle* model3 = nullptr;
  for (const auto& v : listed.vehicles)
    if (v.vin == mock_oem::testing::kVinModel3) model3 = &v;
  ASSERT_NE(model3, nullptr);
  EXPECT_EQ(model3->make, "Tesla");
  EXPECT_EQ(model3->model, "Model 3");
  EXPECT_EQ(model3->year, 2022u);
  EXPECT_EQ(boost::json::parse(model3->identifiers_json).at("account").as_string(), "alice");

  oemlink_conn* car = open_linked(*model3, ex.secrets);
  testkit::Completion& done = poll(car);
  EXPECT_EQ(done.status, OEMLINK_OK) << done.message;
  ASSERT_EQ(d->host.emits.size(), 1u);
  EXPECT_FALSE(d->host.emits[0].readings.empty());
  EXPECT_EQ(d->host.states.back().state, OEMLINK_STATE_OK);
  // The pair from the code was used as is: no refresh happened.
  const auto tokens = issued();
  ASSERT_EQ(tokens.size(), 1u);
  EXPECT_EQ(tokens[0].at("kind").as_string(), "auth_code");
  EXPECT_GT(tokens[0].at("access_uses").to_number<int64_t>(), 0);
  EXPECT_EQ(tokens[0].at("refresh_uses").to_number<int64_t>(), 0);
  // Nothing secret in the driver's log.
  for (const auto& l : d->host.logs)
    for (const std::string& s : {q.at("code"), kVerifier, std::string("mock-client-secret"),
                                 ex.secret("access_token"), ex.secret("refresh_token")})
      EXPECT_EQ(l.message.find(s), std::string::npos) << l.message;
}

TEST_F(TeslaLinkAgainstMock, ASecondConsentOfTheAccountKeepsTheFirstCarPolling) {
  const auto first = consent("state-a", "alice");
  ExchangeOutcome& ex1 = exchange(first.at("code"));
  ASSERT_EQ(ex1.status, OEMLINK_OK) << ex1.message;
  VehiclesOutcome& listed1 = list(ex1.secrets);
  ASSERT_EQ(listed1.status, OEMLINK_OK);
  ASSERT_EQ(listed1.vehicles.size(), 2u);
  // The owner picked one car the first time.
  oemlink_conn* car0 = open_linked(listed1.vehicles[0], ex1.secrets);
  ASSERT_EQ(poll(car0).status, OEMLINK_OK);

  // Later the owner links the other car: a new consent, a new pair; the mock (as Tesla) voids
  // the first pair, which car0 still holds.
  d->host.now_ms += 1000;
  const auto second = consent("state-b", "alice");
  ExchangeOutcome& ex2 = exchange(second.at("code"));
  ASSERT_EQ(ex2.status, OEMLINK_OK) << ex2.message;
  VehiclesOutcome& listed2 = list(ex2.secrets);
  ASSERT_EQ(listed2.status, OEMLINK_OK);
  const LinkVehicle* other = nullptr;
  for (const auto& v : listed2.vehicles)
    if (v.vin != listed1.vehicles[0].vin) other = &v;
  ASSERT_NE(other, nullptr);
  EXPECT_EQ(other->identifiers_json, listed1.vehicles[1].identifiers_json);
  oemlink_conn* car1 = open_linked(*other, ex2.secrets);

  d->host.now_ms += 61'000;  // past the vehicle list's cache
  testkit::Completion& p0 = poll(car0);
  EXPECT_EQ(p0.status, OEMLINK_OK) << p0.message;
  testkit::Completion& p1 = poll(car1);
  EXPECT_EQ(p1.status, OEMLINK_OK) << p1.message;
  for (const auto& s : d->host.states) EXPECT_NE(s.state, OEMLINK_STATE_NEEDS_REAUTH) << s.reason;
  // The first car copies the live pair on its next poll, and nobody spent a refresh on the dead
  // one.
  ASSERT_EQ(poll(car0).status, OEMLINK_OK);
  EXPECT_EQ((d->host.secrets[{car0, "refresh_token"}]), ex2.secret("refresh_token"));
  for (const auto& t : issued()) EXPECT_EQ(t.at("refresh_uses").to_number<int64_t>(), 0);
}

TEST_F(TeslaLinkAgainstMock, AReusedCodeIsRefusedWithTheOwnersMessage) {
  const auto q = consent("state-r", "alice");
  ASSERT_EQ(exchange(q.at("code")).status, OEMLINK_OK);
  ExchangeOutcome& again = exchange(q.at("code"));
  EXPECT_EQ(again.status, OEMLINK_ERROR);
  EXPECT_EQ(again.message,
            "the authorization code was refused by Tesla (expired or already used): start again "
            "(invalid_auth_code)");
}

}  // namespace
}  // namespace oemlink::tesla::test
