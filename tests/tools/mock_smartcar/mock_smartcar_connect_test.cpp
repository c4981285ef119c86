// The mock's Smartcar Connect, driven like a browser: the consent page, approve (picking cars)
// or deny, the redirect with a code, the code exchange (single use, 10 minutes, same
// redirect_uri), and tokens that reach exactly the picked cars (v2 /vehicles, /user, reads).
#include "mock_process.hpp"

#include <regex>
#include <set>

namespace oemlink::testing {
namespace {

const std::string kRedirect = "https://oemlink.example/link/smartcar/callback";
const std::string kDefaultUser = "9a7c1e52-3b6f-4d0e-8c21-5f4a2d9b7e10";

std::string escape(const std::string& s) {
  CURL* c = curl_easy_init();
  char* e = curl_easy_escape(c, s.c_str(), static_cast<int>(s.size()));
  std::string out(e);
  curl_free(e);
  curl_easy_cleanup(c);
  return out;
}

std::string authorize_path(const std::string& extra = "",
                           const std::string& client_id = "mock-client-id") {
  return "/oauth/authorize?response_type=code&client_id=" + client_id +
         "&redirect_uri=" + escape(kRedirect) +
         "&scope=read_vehicle_info%20read_vin%20read_odometer&state=st-1&mode=live" + extra;
}

std::string request_id(const std::string& html) {
  std::smatch m;
  EXPECT_TRUE(std::regex_search(html, m, std::regex(R"re(name="request" value="([0-9a-f-]+)")re")))
      << html;
  return m.size() > 1 ? m[1].str() : std::string();
}

// The query of a redirect's Location, as key -> value (decoded).
std::map<std::string, std::string> redirect_query(const HttpResult& r) {
  std::map<std::string, std::string> out;
  auto it = r.headers.find("location");
  EXPECT_NE(it, r.headers.end());
  if (it == r.headers.end()) return out;
  const std::string& loc = it->second;
  EXPECT_EQ(loc.rfind(kRedirect + "?", 0), 0u) << loc;
  std::string q = loc.substr(loc.find('?') + 1);
  CURL* c = curl_easy_init();
  size_t start = 0;
  while (start <= q.size()) {
    size_t amp = q.find('&', start);
    std::string item = q.substr(start, amp == std::string::npos ? std::string::npos : amp - start);
    size_t eq = item.find('=');
    std::string value = item.substr(eq + 1);
    for (auto& ch : value)
      if (ch == '+') ch = ' ';
    int n = 0;
    char* d = curl_easy_unescape(c, value.c_str(), static_cast<int>(value.size()), &n);
    out[item.substr(0, eq)] = std::string(d, static_cast<size_t>(n));
    curl_free(d);
    if (amp == std::string::npos) break;
    start = amp + 1;
  }
  curl_easy_cleanup(c);
  return out;
}

HttpResult decide(const MockSmartcar& mock, const std::string& form) {
  return http("POST", mock.url("/oauth/authorize/decision"),
              {"Content-Type: application/x-www-form-urlencoded"}, form);
}

HttpResult exchange_code(const MockSmartcar& mock, const std::string& code,
                         const std::string& redirect = kRedirect) {
  return mock.post_form("grant_type=authorization_code&code=" + escape(code) +
                        "&redirect_uri=" + escape(redirect));
}

// Consent for `vehicles` of the default user; the redirect's query.
std::map<std::string, std::string> approve(const MockSmartcar& mock,
                                           const std::vector<std::string>& vehicles,
                                           const std::string& extra = "") {
  auto page = mock.get(authorize_path(extra));
  EXPECT_EQ(page.status, 200) << page.body;
  std::string form = "decision=approve&request=" + request_id(page.body) + "&user=" + kDefaultUser;
  for (const auto& v : vehicles) form += "&vehicle=" + v;
  auto r = decide(mock, form);
  EXPECT_EQ(r.status, 302) << r.body;
  return redirect_query(r);
}

TEST(MockSmartcarConnect, ConsentPageListsTheUsersVehiclesWithCheckboxes) {
  MockSmartcar mock({});
  auto page = mock.get(authorize_path());
  ASSERT_EQ(page.status, 200) << page.body;
  EXPECT_NE(page.headers["content-type"].find("text/html"), std::string::npos);
  for (const std::string& id : {kVw, kJaguar, kFord})
    EXPECT_NE(page.body.find(R"(type="checkbox" name="vehicle" value=")" + id + "\""),
              std::string::npos)
        << id;
  EXPECT_NE(page.body.find("2023 VOLKSWAGEN ID.4"), std::string::npos);
  EXPECT_NE(page.body.find(R"(name="user" value=")" + kDefaultUser), std::string::npos);
  EXPECT_FALSE(request_id(page.body).empty());
  // single_select offers one pick only.
  auto single = mock.get(authorize_path("&approval_prompt=force&single_select=true"));
  ASSERT_EQ(single.status, 200);
  EXPECT_NE(single.body.find(R"(type="radio" name="vehicle")"), std::string::npos);
  EXPECT_EQ(single.body.find("checkbox"), std::string::npos);
}

TEST(MockSmartcarConnect, BadAuthorizeRequestsAreRefused) {
  MockSmartcar mock({});
  const std::string ok = authorize_path();
  const std::vector<std::pair<std::string, std::string>> bad = {
      {authorize_path("", "someone-else"), "client_id"},
      {std::regex_replace(ok, std::regex("response_type=code"), "response_type=token"),
       "response_type"},
      {std::regex_replace(ok, std::regex("&state=st-1"), ""), "state"},
      {std::regex_replace(ok, std::regex("read_vin"), "write_vin"), "scope"},
      {std::regex_replace(ok, std::regex("&scope=[^&]*"), ""), "scope"},
      {std::regex_replace(ok, std::regex("mode=live"), "mode=sandbox"), "mode"},
      {std::regex_replace(ok, std::regex("redirect_uri=[^&]*"), "redirect_uri=%2Fcb"),
       "redirect_uri"},
      {authorize_path("&approval_prompt=sometimes"), "approval_prompt"},
  };
  for (const auto& [path, word] : bad) {
    auto r = mock.get(path);
    EXPECT_EQ(r.status, 400) << path;
    EXPECT_NE(r.body.find(word), std::string::npos) << path << "\n" << r.body;
  }
}

TEST(MockSmartcarConnect, ApprovingTwoOfThreeCarsGivesATokenForExactlyThoseTwo) {
  MockSmartcar mock({});
  auto q = approve(mock, {kVw, kJaguar});
  EXPECT_EQ(q["state"], "st-1");
  EXPECT_EQ(q["user_id"], kDefaultUser);
  ASSERT_FALSE(q["code"].empty());

  auto tokens = exchange_code(mock, q["code"]);
  ASSERT_EQ(tokens.status, 200) << tokens.body;
  const std::string access = std::string(tokens.json().at("access_token").as_string());
  const std::string refresh = std::string(tokens.json().at("refresh_token").as_string());

  auto list = mock.get("/v2.0/vehicles", access);
  ASSERT_EQ(list.status, 200) << list.body;
  std::set<std::string> listed;
  const boost::json::value listed_doc = list.json();
  for (const auto& v : listed_doc.at("vehicles").as_array())
    listed.insert(std::string(v.as_string()));
  EXPECT_EQ(listed, (std::set<std::string>{kVw, kJaguar}));
  EXPECT_EQ(list.json().at("paging").at("count"), 2);
  EXPECT_EQ(list.json().at("paging").at("offset"), 0);
  auto page2 = mock.get("/v2.0/vehicles?limit=1&offset=1", access);
  ASSERT_EQ(page2.status, 200);
  EXPECT_EQ(page2.json().at("vehicles").as_array().size(), 1u);
  EXPECT_EQ(mock.get("/v2.0/vehicles?limit=51", access).status, 400);

  auto user = mock.get("/v2.0/user", access);
  ASSERT_EQ(user.status, 200);
  EXPECT_EQ(user.json().at("id").as_string(), kDefaultUser);

  EXPECT_EQ(mock.signals(kVw, access).status, 200);
  EXPECT_EQ(mock.get("/v2.0/vehicles/" + kJaguar + "/vin", access).json().at("vin"),
            "SADHA2B19M1F00042");
  auto other = mock.signals(kFord, access);
  EXPECT_EQ(other.status, 403) << other.body;
  EXPECT_EQ(mock.get("/v2.0/vehicles/" + kFord, access).status, 403);

  // A refreshed pair keeps the consent's reach.
  auto rotated = mock.refresh(refresh);
  ASSERT_EQ(rotated.status, 200) << rotated.body;
  const std::string access2 = std::string(rotated.json().at("access_token").as_string());
  EXPECT_EQ(mock.signals(kJaguar, access2).status, 200);
  EXPECT_EQ(mock.signals(kFord, access2).status, 403);
  EXPECT_EQ(mock.stats().at("tokens").at("consents_approved"), 1);
}

TEST(MockSmartcarConnect, ACodeIsSingleUseAndBoundToItsRedirectUri) {
  MockSmartcar mock({});
  auto q = approve(mock, {kVw});
  ASSERT_EQ(exchange_code(mock, q["code"]).status, 200);
  auto reused = exchange_code(mock, q["code"]);
  EXPECT_EQ(reused.status, 400);
  EXPECT_EQ(reused.json().at("error"), "invalid_grant");

  auto q2 = approve(mock, {kVw});
  auto wrong = exchange_code(mock, q2["code"], "https://attacker.example/cb");
  EXPECT_EQ(wrong.status, 400);
  EXPECT_NE(wrong.body.find("redirect_uri"), std::string::npos);
  EXPECT_EQ(exchange_code(mock, q2["code"]).status, 400);  // a code presented wrongly is spent

  auto q3 = approve(mock, {kVw});
  EXPECT_EQ(mock.post_form("grant_type=authorization_code&code=" + q3["code"] +
                               "&redirect_uri=" + escape(kRedirect),
                           "mock-client-id", "wrong-secret")
                .status,
            401);
}

TEST(MockSmartcarConnect, ACodeExpires) {
  MockSmartcar mock({"--auth-code-ttl-s", "1"});
  auto q = approve(mock, {kVw});
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  auto late = exchange_code(mock, q["code"]);
  EXPECT_EQ(late.status, 400);
  EXPECT_EQ(late.json().at("error"), "invalid_grant");
  EXPECT_NE(late.body.find("expired"), std::string::npos);
}

TEST(MockSmartcarConnect, DenyRedirectsWithAccessDeniedAndSpendsTheRequest) {
  MockSmartcar mock({});
  auto page = mock.get(authorize_path());
  const std::string id = request_id(page.body);
  auto r = decide(mock, "decision=deny&request=" + id + "&user=" + kDefaultUser);
  ASSERT_EQ(r.status, 302) << r.body;
  EXPECT_EQ(r.headers["location"],
            kRedirect + "?error=access_denied&error_description=User+denied+access&state=st-1");
  auto q = redirect_query(r);
  EXPECT_EQ(q.count("code"), 0u);
  auto again =
      decide(mock, "decision=approve&request=" + id + "&user=" + kDefaultUser + "&vehicle=" + kVw);
  EXPECT_EQ(again.status, 400);
  EXPECT_EQ(mock.stats().at("tokens").at("consents_denied"), 1);
}

TEST(MockSmartcarConnect, PicksAreChecked) {
  auto dir = scratch_dir();
  // The Ford belongs to another owner here.
  auto fleet = boost::json::parse(slurp(kExamples / "vehicles.json"));
  fleet.at("vehicles").as_array().at(2).as_object()["user"] = "other-owner";
  std::ofstream(dir / "vehicles.json") << boost::json::serialize(fleet);
  MockSmartcar mock({"--vehicles", (dir / "vehicles.json").string()}, dir);
  auto page = mock.get(authorize_path());
  ASSERT_EQ(page.status, 200);
  EXPECT_NE(page.body.find(R"(name="user" value="other-owner")"), std::string::npos);
  const std::string id = request_id(page.body);
  const std::string base = "decision=approve&request=" + id + "&user=" + kDefaultUser;
  EXPECT_EQ(decide(mock, base + "&vehicle=" + kFord).status, 400);  // not this owner's car
  EXPECT_EQ(decide(mock, base + "&vehicle=no-such-car").status, 400);
  EXPECT_EQ(decide(mock, base).status, 400);  // nothing picked
  EXPECT_EQ(
      decide(mock, "decision=approve&request=nope&user=" + kDefaultUser + "&vehicle=" + kVw).status,
      400);
  EXPECT_EQ(decide(mock, base + "&vehicle=" + kVw).status, 302);  // the request stayed usable

  auto single = mock.get(authorize_path("&single_select=true"));
  const std::string sid = request_id(single.body);
  const std::string sbase = "decision=approve&request=" + sid + "&user=" + kDefaultUser;
  EXPECT_EQ(decide(mock, sbase + "&vehicle=" + kVw + "&vehicle=" + kJaguar).status, 400);
  EXPECT_EQ(decide(mock, sbase + "&vehicle=" + kJaguar).status, 302);
}

}  // namespace
}  // namespace oemlink::testing
