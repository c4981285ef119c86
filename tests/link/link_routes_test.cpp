// LinkRoutes with the mock driver's real Linker (through the C ABI, PKCE checked by the mock as a
// maker does) and an in-memory ConnectionControl: the whole browser flow and every refusal, each
// creating nothing.
#include "core/link/link_routes.hpp"
#include "core/host/driver_set.hpp"
#include "tests/host/fake_clock.hpp"
#include "tests/link/fake_connection_control.hpp"
#include "tests/plugins/mock/mock_fixture.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <boost/json.hpp>

#include <cstddef>
#include <sstream>

namespace oemlink::link {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using namespace std::chrono_literals;
using testing::FakeConnectionControl;

struct Answer {
  bool got = false;
  net::InboundResponse r;
  std::string header(std::string_view name) const {
    for (const auto& [k, v] : r.headers)
      if (k == name) return v;
    return "";
  }
  boost::json::object json() const { return boost::json::parse(r.body).as_object(); }
};

class RecordingResponder final : public net::Responder {
 public:
  explicit RecordingResponder(std::shared_ptr<Answer> a) : a_(std::move(a)) {}
  bool respond(net::InboundResponse r) override {
    if (a_->got) return false;
    a_->got = true;
    a_->r = std::move(r);
    return true;
  }

 private:
  std::shared_ptr<Answer> a_;
};

std::string text(const boost::json::value& v) {
  return v.is_string() ? std::string(v.as_string()) : boost::json::serialize(v);
}

// The value of `name` in a URL's query, undecoded.
std::string param_of(const std::string& url, const std::string& name) {
  size_t at = url.find("&" + name + "=");
  if (at == std::string::npos) at = url.find("?" + name + "=");
  if (at == std::string::npos) return "";
  at += name.size() + 2;
  return url.substr(at, url.find('&', at) - at);
}

// Everything logged while it lives, at trace level, into one string.
class CapturedLog {
 public:
  CapturedLog() : previous_(spdlog::default_logger()) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out_);
    auto logger = std::make_shared<spdlog::logger>("captured", sink);
    logger->set_level(spdlog::level::trace);
    spdlog::set_default_logger(logger);
  }
  ~CapturedLog() { spdlog::set_default_logger(previous_); }
  std::string text() {
    spdlog::default_logger()->flush();
    return out_.str();
  }

 private:
  std::ostringstream out_;
  std::shared_ptr<spdlog::logger> previous_;
};

class FakeMint final : public MintSource {
 public:
  int prepared = 0, completed = 0;
  MintAnswer prepare(const host::ConnectionView& c, const MintFields& in) override {
    ++prepared;
    boost::json::object o{{"typed_data_for", c.id}, {"owner", in.owner}, {"make", in.make}};
    return {true, boost::json::serialize(o)};
  }
  MintAnswer complete(const host::ConnectionView& c, const MintFields& in,
                      std::string_view signature) override {
    ++completed;
    if (signature != "0xgood") return {false, "the owner signature was not made by " + in.owner};
    boost::json::object o{{"request_for", c.id}, {"n", completed}};
    return {true, boost::json::serialize(o)};
  }
};

// A driver whose authorize URL would split the answer's headers (a CR LF from its settings or
// from a vehicle id it did not encode).
oemlink_status OEMLINK_CALL splitting_url(oemlink_instance*, const oemlink_link_authorize*,
                                          char* buf, size_t cap, size_t* size) {
  const std::string_view url = "https://consent.example/?a=1\r\nSet-Cookie: session=attacker";
  *size = url.size();
  if (url.size() > cap) return OEMLINK_RETRY;
  url.copy(buf, url.size());
  return OEMLINK_OK;
}
oemlink_status OEMLINK_CALL no_exchange(oemlink_instance*, const oemlink_link_callback*,
                                        oemlink_link_exchanged_fn, void*) {
  return OEMLINK_ERROR;
}
oemlink_status OEMLINK_CALL no_listing(oemlink_instance*, const oemlink_str*, const oemlink_str*,
                                       size_t, oemlink_link_vehicles_fn, void*) {
  return OEMLINK_ERROR;
}
const oemlink_link_extension kSplittingLink{sizeof(oemlink_link_extension), 0, &splitting_url,
                                            &no_exchange, &no_listing};
const void* OEMLINK_CALL splitting_extension(oemlink_instance*, const char* id) {
  return std::string_view(id) == OEMLINK_EXTENSION_LINK ? &kSplittingLink : nullptr;
}

// A driver whose code exchange never completes (the maker's token endpoint hangs): it keeps the
// completion, which the test calls late.
struct HangingExchange {
  static inline oemlink_link_exchanged_fn fn = nullptr;
  static inline void* ctx = nullptr;
};
oemlink_status OEMLINK_CALL plain_url(oemlink_instance*, const oemlink_link_authorize* a, char* buf,
                                      size_t cap, size_t* size) {
  const std::string url =
      "https://consent.example/?state=" + std::string(a->state.data, a->state.size);
  *size = url.size();
  if (url.size() > cap) return OEMLINK_RETRY;
  url.copy(buf, url.size());
  return OEMLINK_OK;
}
oemlink_status OEMLINK_CALL hanging_exchange(oemlink_instance*, const oemlink_link_callback*,
                                             oemlink_link_exchanged_fn fn, void* ctx) {
  HangingExchange::fn = fn;
  HangingExchange::ctx = ctx;
  return OEMLINK_OK;
}
const oemlink_link_extension kHangingLink{sizeof(oemlink_link_extension), 0, &plain_url,
                                          &hanging_exchange, &no_listing};
const void* OEMLINK_CALL hanging_extension(oemlink_instance*, const char* id) {
  return std::string_view(id) == OEMLINK_EXTENSION_LINK ? &kHangingLink : nullptr;
}

struct Started {
  Answer answer;
  std::string state, cookie;
};

constexpr std::string_view kOwner = "0x00000000000000000000000000000000000000aa";

class LinkRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(mock_.created()) << mock_.create_error();
    mock_cfg_.name = "mock";
    mock_cfg_.library = "mock";
    drivers_.adopt(mock_cfg_, mock_.descriptor(), mock_.instance(), nullptr);
    // A driver from before ABI 1.2: no get_extension at all.
    plain_desc_.struct_size = offsetof(oemlink_driver, get_extension);
    plain_cfg_.name = "plain";
    drivers_.adopt(plain_cfg_, &plain_desc_, reinterpret_cast<oemlink_instance*>(this), nullptr);
    splitting_desc_.struct_size = sizeof(oemlink_driver);
    splitting_desc_.get_extension = &splitting_extension;
    splitting_cfg_.name = "splitting";
    drivers_.adopt(splitting_cfg_, &splitting_desc_, reinterpret_cast<oemlink_instance*>(this),
                   nullptr);
    hanging_desc_.struct_size = sizeof(oemlink_driver);
    hanging_desc_.get_extension = &hanging_extension;
    hanging_cfg_.name = "hanging";
    drivers_.adopt(hanging_cfg_, &hanging_desc_, reinterpret_cast<oemlink_instance*>(this),
                   nullptr);
    options_.public_url = "https://link.example.com/oem";
    make_routes();
  }

  void make_routes() {
    auto mint = std::make_unique<FakeMint>();
    mint_ = mint.get();
    routes_ = std::make_unique<LinkRoutes>(io_, options_, metrics_, clock_, drivers_, control_,
                                           std::move(mint));
  }

  Answer request(std::string method, std::string target, net::HeaderList headers = {},
                 std::string body = "", bool run = true) {
    net::InboundRequest req;
    req.method = std::move(method);
    req.target = target;
    req.path = target.substr(0, target.find('?'));
    req.headers = std::move(headers);
    req.body = std::move(body);
    auto a = std::make_shared<Answer>();
    routes_->handle(std::move(req), std::make_shared<RecordingResponder>(a));
    if (run) drain(*a);
    return *a;
  }
  void drain(const Answer& a) {
    for (int i = 0; i < 20 && !a.got; ++i) {
      io_.restart();
      io_.poll();
    }
  }

  Started start(std::string query = "", std::string driver = "mock") {
    Started s;
    s.answer = request("GET", "/link/" + driver + "/start" + (query.empty() ? "" : "?" + query));
    s.state = param_of(s.answer.header("Location"), "state");
    std::string set_cookie = s.answer.header("Set-Cookie");
    s.cookie = set_cookie.substr(0, set_cookie.find(';'));
    return s;
  }
  Answer callback(const Started& s, std::string code, std::string accept = "application/json") {
    return request("GET", "/link/mock/callback?code=" + code + "&state=" + s.state,
                   {{"Cookie", "theme=dark; " + s.cookie}, {"Accept", accept}});
  }
  Answer link(std::string code, std::string query = "") { return callback(start(query), code); }

  // "link_refused_<reason>" or another link counter by its old short name.
  uint64_t counter(const std::string& name) {
    if (name.rfind("link_refused_", 0) == 0)
      return static_cast<uint64_t>(
          metrics_.total("oemlink_link_refused_total", {{"reason", name.substr(13)}}));
    return static_cast<uint64_t>(metrics_.total("oemlink_" + name + "_total"));
  }

  boost::asio::io_context io_;
  MetricsRegistry metrics_;
  host::testing::FakeClock clock_;
  config::Config cfg_;
  host::DriverSet drivers_{cfg_, {}};
  config::DriverConfig mock_cfg_, plain_cfg_, splitting_cfg_, hanging_cfg_;
  oemlink_driver plain_desc_{}, splitting_desc_{}, hanging_desc_{};
  test::DriverUnderTest mock_{test::mock_descriptor(), "{}"};
  FakeConnectionControl control_;
  FakeMint* mint_ = nullptr;
  LinkOptions options_;
  std::unique_ptr<LinkRoutes> routes_;
};

TEST_F(LinkRoutesTest, OnlyDriversOfferingTheExtensionCanLink) {
  EXPECT_EQ(routes_->linkable(), (std::vector<std::string>{"hanging", "mock", "splitting"}));
  Answer a = start("", "plain").answer;
  EXPECT_EQ(a.r.status, 404);
  EXPECT_THAT(a.r.body, HasSubstr("driver plain cannot link cars"));
  EXPECT_EQ(start("", "nosuch").answer.r.status, 404);
  EXPECT_EQ(counter("link_refused_no_driver"), 2u);
}

TEST_F(LinkRoutesTest, StartRedirectsToTheConsentPageWithStateChallengeAndABrowserCookie) {
  Started s = start();
  ASSERT_EQ(s.answer.r.status, 302);
  const std::string location = s.answer.header("Location");
  EXPECT_THAT(location, StartsWith("https://mock-oem.invalid/authorize?response_type=code"));
  EXPECT_EQ(param_of(location, "redirect_uri"),
            "https%3A%2F%2Flink.example.com%2Foem%2Flink%2Fmock%2Fcallback");
  EXPECT_EQ(s.state.size(), 43u);
  EXPECT_EQ(param_of(location, "code_challenge").size(), 43u);
  EXPECT_EQ(param_of(location, "code_challenge_method"), "S256");
  EXPECT_EQ(param_of(location, "vehicle_id"), "");
  const std::string cookie = s.answer.header("Set-Cookie");
  EXPECT_THAT(cookie, StartsWith("oemlink_link_mock="));
  EXPECT_THAT(cookie, HasSubstr("; HttpOnly; SameSite=Lax; Path=/oem/link/mock/; Max-Age=600"));
  EXPECT_THAT(cookie, HasSubstr("; Secure"));
  EXPECT_EQ(s.cookie.size(), std::string("oemlink_link_mock=").size() + 43);
  EXPECT_EQ(s.answer.header("Cache-Control"), "no-store");
  // Neither the state nor the nonce is the other, nor in the body.
  EXPECT_THAT(s.cookie, Not(HasSubstr(s.state)));
  EXPECT_THAT(s.answer.r.body, Not(HasSubstr(s.state)));
  EXPECT_EQ(routes_->pending_links(), 1u);
  EXPECT_EQ(counter("link_starts"), 1u);
}

TEST_F(LinkRoutesTest, AnExchangeThatNeverCompletesIsAnswered504AndItsLateTokensGoNowhere) {
  options_.driver_timeout = 30ms;
  make_routes();
  Started s = start("", "hanging");
  ASSERT_EQ(s.answer.r.status, 302);
  s.cookie = "oemlink_link_hanging=" +
             s.answer.header("Set-Cookie").substr(std::string("oemlink_link_hanging=").size(), 43);
  net::InboundRequest req;
  req.method = "GET";
  req.target = "/link/hanging/callback?code=c1&state=" + s.state;
  req.path = "/link/hanging/callback";
  req.headers = {{"Cookie", s.cookie}};
  auto a = std::make_shared<Answer>();
  routes_->handle(std::move(req), std::make_shared<RecordingResponder>(a));
  ASSERT_NE(HangingExchange::fn, nullptr);
  EXPECT_EQ(routes_->answering(), 1u);
  auto end = std::chrono::steady_clock::now() + 5s;
  while (!a->got && std::chrono::steady_clock::now() < end) {
    io_.restart();
    io_.run_for(5ms);
  }
  EXPECT_EQ(a->r.status, 504);
  EXPECT_THAT(a->r.body, HasSubstr("did not answer in time"));
  EXPECT_EQ(routes_->answering(), 0u);
  EXPECT_EQ(counter("link_refused_driver_timeout"), 1u);
  // The maker answers at last: nothing is created, nothing crashes.
  const oemlink_str key{"access_token", 12}, value{"late-token", 10};
  HangingExchange::fn(HangingExchange::ctx, OEMLINK_OK, &key, &value, 1, {nullptr, 0});
  HangingExchange::fn = nullptr;
  io_.restart();
  io_.poll();
  EXPECT_EQ(control_.adds, 0);
  EXPECT_TRUE(control_.rows.empty());
}

TEST_F(LinkRoutesTest, AnAuthorizeUrlThatWouldSplitTheHeadersIsRefused) {
  Answer a = start("", "splitting").answer;
  EXPECT_EQ(a.r.status, 500);
  EXPECT_EQ(a.header("Location"), "");
  EXPECT_EQ(a.header("Set-Cookie"), "");
  EXPECT_THAT(a.r.body, HasSubstr("not an absolute http(s) URL"));
  EXPECT_THAT(a.r.body, Not(HasSubstr("attacker")));
  EXPECT_EQ(routes_->pending_links(), 0u);  // the state is forgotten again
  EXPECT_EQ(counter("link_refused_driver_refused"), 1u);
}

TEST_F(LinkRoutesTest, PlainHttpPublicUrlsGetNoSecureCookie) {
  options_.public_url = "http://127.0.0.1:8080";
  make_routes();
  Started s = start();
  EXPECT_THAT(s.answer.header("Set-Cookie"), Not(HasSubstr("Secure")));
  EXPECT_THAT(s.answer.header("Set-Cookie"), HasSubstr("Path=/link/mock/;"));
}

TEST_F(LinkRoutesTest, ACallbackCreatesOneConnectionPerCarWithTheExchangedTokens) {
  Started s = start();
  Answer a = callback(s, "ok-3");
  ASSERT_EQ(a.r.status, 200) << a.r.body;
  EXPECT_EQ(a.header("Cache-Control"), "no-store");
  boost::json::object o = a.json();
  EXPECT_EQ(text(o.at("driver")), "mock");
  const auto& cs = o.at("connections").as_array();
  ASSERT_EQ(cs.size(), 3u);
  for (size_t k = 0; k < 3; ++k) {
    const auto& c = cs[k].as_object();
    EXPECT_EQ(text(c.at("vehicle_id")), "mock-3-" + std::to_string(k + 1));
    EXPECT_EQ(c.at("vin").as_string().size(), 17u);
    EXPECT_EQ(text(c.at("display_name")), "Mock car " + std::to_string(k + 1));
    EXPECT_EQ(text(c.at("state")), "active");
    EXPECT_EQ(c.at("device_address").as_string().size(), 42u);
    EXPECT_TRUE(c.at("mint").is_null());  // no owner given at the start
    const auto& row = control_.rows.at(std::string(c.at("connection_id").as_string()));
    EXPECT_EQ(row.view.source, host::ConnectionSource::linked);
    EXPECT_EQ(row.view.identifiers_json,
              "{\"mock_vehicle\":\"mock-3-" + std::to_string(k + 1) + "\"}");
    ASSERT_EQ(row.secrets.size(), 1u);
    EXPECT_EQ(row.secrets[0].first, "access_token");
    EXPECT_THAT(row.secrets[0].second, StartsWith("mock-at-"));
    EXPECT_THAT(a.r.body, Not(HasSubstr(row.secrets[0].second)));
  }
  EXPECT_TRUE(o.at("refused").as_array().empty());
  EXPECT_EQ(o.at("mint_grant").as_string().size(), 43u);
  EXPECT_EQ(text(o.at("mint_url")), "https://link.example.com/oem/link/mock/mint");
  EXPECT_THAT(a.r.body, Not(HasSubstr(s.state)));
  EXPECT_THAT(a.r.body, Not(HasSubstr(s.cookie.substr(s.cookie.find('=') + 1))));
  EXPECT_EQ(control_.rows.size(), 3u);
  EXPECT_EQ(counter("link_connections_created"), 3u);
  EXPECT_EQ(routes_->answering(), 0u);
  EXPECT_EQ(routes_->pending_links(), 0u);
}

TEST_F(LinkRoutesTest, TheOwnerPicksCarsAndACarNotInTheConsentIsNamed) {
  Answer a = link("ok-3", "vehicles=mock-3-2,mock-9-9");
  ASSERT_EQ(a.r.status, 200) << a.r.body;
  boost::json::object o = a.json();
  ASSERT_EQ(o.at("connections").as_array().size(), 1u);
  EXPECT_EQ(text(o.at("connections").as_array()[0].at("vehicle_id")), "mock-3-2");
  ASSERT_EQ(o.at("refused").as_array().size(), 1u);
  EXPECT_EQ(text(o.at("refused").as_array()[0].at("vehicle_id")), "mock-9-9");
  EXPECT_EQ(control_.rows.size(), 1u);
}

TEST_F(LinkRoutesTest, AStartsListOfCarsIsBoundedSincePendingStartsKeepIt) {
  std::string hundred, more;
  for (int i = 0; i < 100; ++i)
    hundred += (i ? "," : "") + std::string("mock-1-") + std::to_string(i);
  EXPECT_EQ(start("vehicles=" + hundred).answer.r.status, 302);
  EXPECT_EQ(start("vehicles=" + hundred + ",x").answer.r.status, 400);
  // 2048 characters at most, whatever the count: 90 ids of 24 characters are too many.
  std::string long_ids;
  for (int i = 0; i < 90; ++i) long_ids += (i ? "," : "") + std::string(24, 'a' + i % 26);
  EXPECT_EQ(start("vehicles=" + long_ids).answer.r.status, 400);
  EXPECT_EQ(routes_->pending_links(), 1u);
}

TEST_F(LinkRoutesTest, AnOwnerGivenAtTheStartGetsEachCarsMintTypedData) {
  Answer a = link("ok-2", "owner=" + std::string(kOwner));
  ASSERT_EQ(a.r.status, 200) << a.r.body;
  const boost::json::object o = a.json();
  for (const auto& c : o.at("connections").as_array()) {
    const auto& mint = c.at("mint").as_object();
    EXPECT_EQ(mint.at("typed_data_for"), c.at("connection_id"));
    EXPECT_EQ(text(mint.at("owner")), kOwner);
    EXPECT_EQ(text(mint.at("make")), "Mock");
  }
  EXPECT_EQ(mint_->prepared, 2);
  EXPECT_EQ(start("owner=0x1234").answer.r.status, 400);
  // What the mint builder reads as an address, and nothing else (it wants "0x").
  EXPECT_EQ(start("owner=0X00000000000000000000000000000000000000aa").answer.r.status, 400);
}

TEST_F(LinkRoutesTest, AReplayedStateIsRefusedAndCreatesNothing) {
  Started s = start();
  ASSERT_EQ(callback(s, "ok-1").r.status, 200);
  Answer again = callback(s, "ok-2");
  EXPECT_EQ(again.r.status, 400);
  EXPECT_THAT(again.r.body, HasSubstr("unknown or already used link state; start again"));
  EXPECT_EQ(control_.rows.size(), 1u);
  EXPECT_EQ(control_.adds, 1);
  EXPECT_EQ(counter("link_refused_unknown_state"), 1u);
}

TEST_F(LinkRoutesTest, AForgedStateIsRefusedAndCreatesNothing) {
  Started real = start();
  Started forged = real;
  forged.state = random_token();
  Answer a = callback(forged, "ok-1");
  EXPECT_EQ(a.r.status, 400);
  EXPECT_THAT(a.r.body, HasSubstr("unknown or already used link state"));
  Answer none = request("GET", "/link/mock/callback?code=ok-1", {{"Cookie", real.cookie}});
  EXPECT_EQ(none.r.status, 400);
  EXPECT_EQ(control_.adds, 0);
  EXPECT_EQ(routes_->pending_links(), 1u);  // the real one still waits
}

TEST_F(LinkRoutesTest, AnExpiredStateIsRefusedAndCreatesNothing) {
  Started s = start();
  clock_.advance(std::chrono::milliseconds(10min).count());
  Answer a = callback(s, "ok-1");
  EXPECT_EQ(a.r.status, 400);
  EXPECT_THAT(a.r.body, HasSubstr("this link expired"));
  EXPECT_EQ(control_.adds, 0);
  EXPECT_EQ(counter("link_refused_expired_state"), 1u);
}

TEST_F(LinkRoutesTest, AStateFromAnotherBrowserIsRefusedAndUsedUp) {
  Started mine = start();
  Started theirs = start();
  Started stolen = theirs;
  stolen.cookie = mine.cookie;  // the attacker's browser, the victim's state
  Answer a = callback(stolen, "ok-1");
  EXPECT_EQ(a.r.status, 400);
  EXPECT_THAT(a.r.body, HasSubstr("this link was started in another browser"));
  EXPECT_EQ(callback(theirs, "ok-1").r.status, 400);  // single use, whatever the outcome
  Started no_cookie = mine;
  no_cookie.cookie = "";
  EXPECT_EQ(callback(no_cookie, "ok-1").r.status, 400);
  EXPECT_EQ(control_.adds, 0);
  EXPECT_EQ(counter("link_refused_wrong_browser"), 2u);
}

TEST_F(LinkRoutesTest, ADeniedConsentIsShownSanitisedAndCreatesNothing) {
  Started s = start();
  Answer a = request(
      "GET",
      "/link/mock/callback?error=access_denied&error_description="
      "The%20owner%20said%20%3Cb%3Eno%3C%2Fb%3E%0A&state=" +
          s.state,
      {{"Cookie", s.cookie}, {"Accept", "text/html,application/xhtml+xml,application/json;q=0.9"}});
  EXPECT_EQ(a.r.status, 400);
  EXPECT_THAT(a.header("Content-Type"), StartsWith("text/html"));
  EXPECT_THAT(a.r.body,
              HasSubstr("consent was denied at mock: The owner said &lt;b&gt;no&lt;/b&gt;?"));
  EXPECT_THAT(a.r.body, Not(HasSubstr("<b>no")));
  EXPECT_EQ(control_.adds, 0);
  EXPECT_EQ(counter("link_refused_denied"), 1u);
}

TEST_F(LinkRoutesTest, AFailedExchangeIsShownAndCreatesNothing) {
  Answer a = link("bad");
  EXPECT_EQ(a.r.status, 400);
  EXPECT_THAT(a.json().at("error").as_string(),
              HasSubstr("mock refused the authorization code: authorization code expired"));
  EXPECT_THAT(a.r.body, Not(HasSubstr("\"bad\"")));
  EXPECT_EQ(control_.adds, 0);
  EXPECT_EQ(counter("link_refused_exchange_failed"), 1u);
}

TEST_F(LinkRoutesTest, ACarAlreadyLinkedIsRefusedAndNeverLinkedTwice) {
  Answer first = link("ok-2");
  ASSERT_EQ(first.r.status, 200);
  Answer again = link("ok-2");
  EXPECT_EQ(again.r.status, 409);
  boost::json::object o = again.json();
  EXPECT_EQ(text(o.at("error")), "every car of this consent is already linked");
  const auto& refused = o.at("refused").as_array();
  ASSERT_EQ(refused.size(), 2u);
  EXPECT_THAT(std::string(refused[0].at("reason").as_string()),
              StartsWith("already linked as connection mock-"));
  EXPECT_EQ(control_.rows.size(), 2u);
  EXPECT_EQ(control_.adds, 1);
  EXPECT_EQ(counter("link_refused_already_linked"), 2u);
  // One more car in a bigger consent: only it is added, the others are named.
  Answer more = link("ok-3");
  ASSERT_EQ(more.r.status, 200);
  EXPECT_EQ(more.json().at("connections").as_array().size(), 3u);  // other vehicle ids and VINs
}

TEST_F(LinkRoutesTest, ReAuthenticationKeepsTheConnectionItsChildAndAddress) {
  Answer first = link("ok-1");
  ASSERT_EQ(first.r.status, 200);
  const boost::json::object c = first.json().at("connections").as_array()[0].as_object();
  const std::string id(c.at("connection_id").as_string());
  const std::string old_token = control_.rows.at(id).secrets[0].second;
  control_.rows.at(id).view.state = host::ConnectionState::needs_reauth;

  Started s = start("connection=" + id);
  ASSERT_EQ(s.answer.r.status, 302);
  EXPECT_EQ(param_of(s.answer.header("Location"), "vehicle_id"), "mock-1-1");
  Answer a = callback(s, "ok-1");
  ASSERT_EQ(a.r.status, 200) << a.r.body;
  const boost::json::object again = a.json().at("connections").as_array()[0].as_object();
  EXPECT_EQ(text(again.at("connection_id")), id);
  EXPECT_EQ(again.at("key_child"), c.at("key_child"));
  EXPECT_EQ(again.at("device_address"), c.at("device_address"));
  EXPECT_EQ(text(again.at("state")), "active");
  EXPECT_EQ(control_.adds, 1);
  EXPECT_EQ(control_.reauths, 1);
  EXPECT_EQ(control_.rows.size(), 1u);
  EXPECT_NE(control_.rows.at(id).secrets[0].second, old_token);
  EXPECT_EQ(counter("link_connections_reauthorized"), 1u);
}

TEST_F(LinkRoutesTest, ReAuthenticationWithAConsentForOtherCarsIsRefused) {
  Answer first = link("ok-1");
  const std::string id(
      first.json().at("connections").as_array()[0].at("connection_id").as_string());
  Answer a = callback(start("connection=" + id), "ok-2-other");
  EXPECT_EQ(a.r.status, 409);
  EXPECT_THAT(a.r.body,
              HasSubstr("this consent does not cover vehicle mock-1-1 of connection " + id));
  EXPECT_EQ(control_.reauths, 0);
}

TEST_F(LinkRoutesTest, ReAuthenticationNeedsALiveConnectionOfThisDriver) {
  control_.put("gone", "mock", "v", "", host::ConnectionState::revoked);
  control_.put("theirs", "tesla", "v2", "", host::ConnectionState::needs_reauth);
  EXPECT_EQ(start("connection=gone").answer.r.status, 409);
  EXPECT_EQ(start("connection=theirs").answer.r.status, 404);
  EXPECT_EQ(start("connection=nosuch").answer.r.status, 404);
  EXPECT_EQ(routes_->pending_links(), 0u);
}

TEST_F(LinkRoutesTest, APublicReAuthenticationDoesNotUndoAnOperatorsPause) {
  Answer first = link("ok-1");
  ASSERT_EQ(first.r.status, 200);
  const std::string id(
      first.json().at("connections").as_array()[0].at("connection_id").as_string());
  control_.rows.at(id).view.state = host::ConnectionState::paused;
  Answer a = start("connection=" + id).answer;
  EXPECT_EQ(a.r.status, 409);
  EXPECT_THAT(a.r.body, HasSubstr("paused by its operator"));
  EXPECT_EQ(routes_->pending_links(), 0u);

  // Paused while the owner was at the maker's consent page.
  control_.rows.at(id).view.state = host::ConnectionState::needs_reauth;
  Started s = start("connection=" + id);
  ASSERT_EQ(s.answer.r.status, 302);
  control_.rows.at(id).view.state = host::ConnectionState::paused;
  EXPECT_EQ(callback(s, "ok-1").r.status, 409);
  EXPECT_EQ(control_.reauths, 0);
  EXPECT_EQ(control_.rows.at(id).view.state, host::ConnectionState::paused);
  EXPECT_EQ(counter("link_refused_paused"), 2u);
}

TEST_F(LinkRoutesTest, BeyondMaxPendingStartsAreRefused) {
  options_.max_pending = 2;
  make_routes();
  EXPECT_EQ(start().answer.r.status, 302);
  EXPECT_EQ(start().answer.r.status, 302);
  Answer a = start().answer;
  EXPECT_EQ(a.r.status, 503);
  EXPECT_THAT(a.r.body, HasSubstr("too many links in progress"));
  clock_.advance(std::chrono::milliseconds(10min).count());
  EXPECT_EQ(start().answer.r.status, 302);  // the expired ones made room
}

TEST_F(LinkRoutesTest, AStoreThatIsDownCreatesNothingAndSaysSo) {
  control_.fail_next = host::ControlError::unavailable;
  Answer a = link("ok-1");
  EXPECT_EQ(a.r.status, 503);
  EXPECT_THAT(a.r.body, HasSubstr("could not store the new connections: the store is down"));
  EXPECT_TRUE(control_.rows.empty());
}

TEST_F(LinkRoutesTest, ABrowserGetsAnEscapedPage) {
  Answer a = callback(start(), "ok-1", "text/html");
  ASSERT_EQ(a.r.status, 200);
  EXPECT_THAT(a.header("Content-Type"), StartsWith("text/html"));
  EXPECT_THAT(a.r.body, HasSubstr("<td>Mock car 1</td>"));
  EXPECT_THAT(a.r.body,
              HasSubstr("&quot;mint_grant&quot;"));  // the JSON, escaped, for the frontend
  EXPECT_EQ(a.header("Content-Security-Policy").substr(0, 18), "default-src 'none'");
}

TEST_F(LinkRoutesTest, MintNeedsTheGrantOfThatConnection) {
  Answer linked = link("ok-2", "owner=" + std::string(kOwner));
  boost::json::object o = linked.json();
  const std::string grant(o.at("mint_grant").as_string());
  const std::string id(o.at("connections").as_array()[0].at("connection_id").as_string());
  const std::string body = "{\"connection_id\":\"" + id + "\"}";

  Answer none = request("POST", "/link/mock/mint", {}, body);
  EXPECT_EQ(none.r.status, 401);
  EXPECT_EQ(none.header("WWW-Authenticate"), "Bearer error=\"invalid_token\"");
  EXPECT_EQ(
      request("POST", "/link/mock/mint", {{"Authorization", "Bearer " + random_token()}}, body)
          .r.status,
      401);
  control_.put("other", "mock", "x", "", host::ConnectionState::active);
  EXPECT_EQ(request("POST", "/link/mock/mint", {{"Authorization", "Bearer " + grant}},
                    "{\"connection_id\":\"other\"}")
                .r.status,
            403);
  Answer wrong_owner = request("POST", "/link/mock/mint", {{"Authorization", "Bearer " + grant}},
                               "{\"connection_id\":\"" + id +
                                   "\",\"owner\":\"0x00000000000000000000000000000000000000bb\"}");
  EXPECT_EQ(wrong_owner.r.status, 403);
  EXPECT_EQ(
      request("POST", "/link/mock/mint", {{"Authorization", "Bearer " + grant}}, "[1]").r.status,
      400);

  Answer typed = request("POST", "/link/mock/mint", {{"Authorization", "bearer " + grant}}, body);
  ASSERT_EQ(typed.r.status, 200) << typed.r.body;
  EXPECT_EQ(text(typed.json().at("typed_data_for")), id);
  EXPECT_EQ(text(typed.json().at("owner")), kOwner);  // the grant's owner
}

TEST_F(LinkRoutesTest, MintWithTheOwnersSignatureIsStoredOnceAndAnsweredTheSame) {
  Answer linked = link("ok-1", "owner=" + std::string(kOwner));
  boost::json::object o = linked.json();
  const std::string auth = "Bearer " + std::string(o.at("mint_grant").as_string());
  const std::string id(o.at("connections").as_array()[0].at("connection_id").as_string());
  auto signed_body = [&](std::string sig) {
    return "{\"connection_id\":\"" + id + "\",\"owner_signature\":\"" + sig +
           "\",\"vehicle_token_id\":\"42\",\"year\":2024}";
  };
  Answer bad = request("POST", "/link/mock/mint", {{"Authorization", auth}}, signed_body("0xbad"));
  EXPECT_EQ(bad.r.status, 422);
  EXPECT_THAT(bad.r.body, HasSubstr("the owner signature was not made by"));
  EXPECT_TRUE(control_.rows.at(id).view.mint_json.empty());

  Answer first =
      request("POST", "/link/mock/mint", {{"Authorization", auth}}, signed_body("0xgood"));
  ASSERT_EQ(first.r.status, 200) << first.r.body;
  Answer second =
      request("POST", "/link/mock/mint", {{"Authorization", auth}}, signed_body("0xgood"));
  ASSERT_EQ(second.r.status, 200);
  EXPECT_EQ(second.r.body, first.r.body);  // the stored request, not a new one
  EXPECT_EQ(first.json().at("n").as_int64(),
            2);  // made by the second complete() (the first was bad)
  EXPECT_EQ(control_.rows.at(id).view.mint_json, first.r.body);
  EXPECT_EQ(counter("link_mints_stored"), 2u);
}

TEST_F(LinkRoutesTest, WhatAMintRequestSentCannotForgeALogLine) {
  Answer linked = link("ok-1");  // no owner at the start: the mint request names one
  boost::json::object o = linked.json();
  const std::string auth = "Bearer " + std::string(o.at("mint_grant").as_string());
  const std::string id(o.at("connections").as_array()[0].at("connection_id").as_string());
  CapturedLog log;
  Answer bad =
      request("POST", "/link/mock/mint", {{"Authorization", auth}},
              "{\"connection_id\":\"" + id +
                  "\",\"owner\":\"0xaa\\n[info] link: FORGED\",\"owner_signature\":\"0xbad\"}");
  EXPECT_EQ(bad.r.status, 422);
  const std::string text = log.text();
  EXPECT_THAT(text, HasSubstr("refused (mint_refused)"));
  EXPECT_THAT(text, Not(HasSubstr("\n[info] link: FORGED")));
}

TEST_F(LinkRoutesTest, AtShutdownNewLinksAndLinksWaitingOnTheDriverGet503) {
  Started s = start();
  // The mock finishes its exchange at once, but its completion waits on the loop.
  Answer waiting = request("GET", "/link/mock/callback?code=ok-1&state=" + s.state,
                           {{"Cookie", s.cookie}}, "", /*run=*/false);
  EXPECT_EQ(routes_->answering(), 1u);
  routes_->stop_accepting();
  EXPECT_EQ(routes_->answering(), 0u);
  Answer late = start().answer;
  EXPECT_EQ(late.r.status, 503);
  io_.restart();
  io_.poll();  // the driver's completion arrives: it finds nothing
  routes_->close();
  io_.restart();
  io_.poll();
  EXPECT_TRUE(control_.rows.empty());
  EXPECT_EQ(counter("link_refused_shutting_down"), 2u);
}

TEST_F(LinkRoutesTest, ACompletionAfterCloseFindsNothing) {
  Started s = start();
  auto a = std::make_shared<Answer>();
  net::InboundRequest req;
  req.method = "GET";
  req.target = "/link/mock/callback?code=ok-1&state=" + s.state;
  req.path = "/link/mock/callback";
  req.headers = {{"Cookie", s.cookie}};
  routes_->handle(std::move(req), std::make_shared<RecordingResponder>(a));
  routes_->close();
  ASSERT_TRUE(a->got);
  EXPECT_EQ(a->r.status, 503);
  routes_.reset();  // the component is gone; the posted completion must not touch it
  io_.restart();
  io_.poll();
  EXPECT_TRUE(control_.rows.empty());
}

TEST_F(LinkRoutesTest, UnknownStepsAndMethodsAreNamed) {
  EXPECT_EQ(request("GET", "/link/mock/frobnicate").r.status, 404);
  Answer a = request("POST", "/link/mock/start");
  EXPECT_EQ(a.r.status, 405);
  EXPECT_EQ(a.header("Allow"), "GET");
  EXPECT_EQ(request("GET", "/link/mock/mint").header("Allow"), "POST");
}

}  // namespace
}  // namespace oemlink::link
