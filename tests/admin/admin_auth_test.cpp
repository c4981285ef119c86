// Every admin request is authenticated: no token, a wrong one or one of another length is
// refused 401 with WWW-Authenticate and counted; the right one is served; and neither the
// configured token nor a presented one reaches a log line (trace level included) or an answer.
#include "core/admin/bearer_token.hpp"
#include "tests/admin/admin_harness.hpp"

#include <gmock/gmock.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <sstream>

namespace oemlink::admin::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

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

TEST(AdminAuth, BearerTokenAcceptsOnlyTheTokenUnderTheBearerScheme) {
  BearerToken t("0123456789abcdef0123");
  EXPECT_TRUE(t.configured());
  EXPECT_TRUE(t.accepts("Bearer 0123456789abcdef0123"));
  EXPECT_TRUE(t.accepts("bearer 0123456789abcdef0123"));  // the scheme is case-insensitive
  EXPECT_TRUE(t.accepts("BEARER   0123456789abcdef0123 "));
  EXPECT_FALSE(t.accepts("Bearer 0123456789abcdef012"));    // one short
  EXPECT_FALSE(t.accepts("Bearer 0123456789abcdef01234"));  // one long
  EXPECT_FALSE(t.accepts("Bearer 0123456789ABCDEF0123"));   // the token is case-sensitive
  EXPECT_FALSE(t.accepts("Basic 0123456789abcdef0123"));
  EXPECT_FALSE(t.accepts("0123456789abcdef0123"));
  EXPECT_FALSE(t.accepts("Bearer "));
  EXPECT_FALSE(t.accepts(""));
  BearerToken none;
  EXPECT_FALSE(none.configured());
  EXPECT_FALSE(none.accepts("Bearer "));
  EXPECT_FALSE(none.accepts("Bearer x"));
}

TEST(AdminAuth, RefusesMissingWrongAndWrongLengthTokensAndNeverLogsOne) {
  CapturedLog log;
  AdminHarness h;
  h.start_with_token();
  h.on_loop([&] { return h.control().put("car-1").id; });
  const std::string token = kToken;
  const std::string wrong_same_length = std::string(token.size(), 'x');
  const std::string wrong_longer = token + "-and-more";
  const std::string wrong_shorter = token.substr(0, token.size() - 1);

  struct Case {
    std::optional<std::string> authorization;
    const char* what;
  };
  const Case refused[] = {
      {std::nullopt, "no header"},
      {"Bearer " + wrong_same_length, "wrong token"},
      {"Bearer " + wrong_longer, "longer token"},
      {"Bearer " + wrong_shorter, "shorter token"},
      {"Basic " + token, "another scheme"},
      {"Bearer", "no token"},
  };
  for (const Case& c : refused) {
    for (const char* target : {"/admin/connections", "/admin/connections/car-1"}) {
      Reply r = h.request("GET", target, "", c.authorization);
      EXPECT_EQ(r.status, 401) << c.what;
      EXPECT_THAT(r.www_authenticate, HasSubstr("Bearer")) << c.what;
      EXPECT_THAT(r.error(), Not(HasSubstr(token)));
      EXPECT_THAT(r.body, Not(HasSubstr(wrong_same_length)));
      EXPECT_THAT(r.body, Not(HasSubstr(wrong_longer)));
    }
    // Refused before anything reaches the control.
    EXPECT_EQ(h.request("POST", "/admin/connections/car-1/pause", "", c.authorization).status, 401);
  }
  EXPECT_EQ(h.counter("oemlink_admin_auth_failures_total"), std::size(refused) * 3);
  EXPECT_TRUE(h.on_loop([&] { return h.control().calls.empty(); }));
  EXPECT_EQ(h.on_loop([&] { return h.control().find("car-1")->state; }),
            host::ConnectionState::active);

  EXPECT_EQ(h.request("GET", "/admin/connections").status, 200);
  EXPECT_EQ(h.request("POST", "/admin/connections/car-1/pause", R"({"reason":"r"})").status, 200);
  EXPECT_EQ(h.counter("oemlink_admin_auth_failures_total"), std::size(refused) * 3);
  h.stop();

  const std::string logged = log.text();
  EXPECT_THAT(logged, HasSubstr("admin: refused GET"));                // the refusals are logged...
  EXPECT_THAT(logged, HasSubstr("admin: pause car-1 by 127.0.0.1:"));  // ...and the change
  EXPECT_THAT(logged, Not(HasSubstr(token)));          // but no token, configured or presented
  EXPECT_THAT(logged, Not(HasSubstr(wrong_shorter)));  // (a prefix of the real one)
  EXPECT_THAT(logged, Not(HasSubstr(wrong_same_length)));
  EXPECT_THAT(logged, Not(HasSubstr("0123456789abcdef")));
}

TEST(AdminAuth, RefusalsAreLoggedAtMostAFewPerSecondButAllCounted) {
  CapturedLog log;
  AdminHarness h;
  h.start_with_token();
  for (int i = 0; i < 40; ++i) h.request("GET", "/admin/connections", "", std::nullopt);
  h.stop();
  EXPECT_EQ(h.counter("oemlink_admin_auth_failures_total"), 40u);
  std::string text = log.text();
  size_t lines = 0;
  for (size_t at = 0; (at = text.find("admin: refused", at)) != std::string::npos; ++at) ++lines;
  EXPECT_GE(lines, 1u);
  EXPECT_LE(lines, 15u);  // 5 a second; the test may straddle a few seconds
}

// Once shutdown began, a request on a connection kept alive from before is answered 503.
TEST(AdminAuth, AfterStopAcceptingAKeptAliveConnectionGets503) {
  AdminHarness h;
  h.start_with_token();
  boost::asio::io_context io;
  tcp::socket s(io);
  s.connect({asio::ip::make_address("127.0.0.1"), h.port()});
  auto ask = [&] {
    http::request<http::string_body> req{http::verb::get, "/admin/connections/counts", 11};
    req.set(http::field::host, "127.0.0.1");
    req.set(http::field::authorization, std::string("Bearer ") + kToken);
    http::write(s, req);
    boost::beast::flat_buffer buf;
    http::response<http::string_body> res;
    http::read(s, buf, res);
    return res.result_int();
  };
  EXPECT_EQ(ask(), 200);
  h.on_loop([&] {
    h.server().stop_accepting();
    return 0;
  });
  EXPECT_EQ(ask(), 503);
  EXPECT_THROW(tcp::socket(io).connect({asio::ip::make_address("127.0.0.1"), h.port()}),
               boost::system::system_error);
}

TEST(AdminAuth, ANonLoopbackAddressWithoutTlsIsWarnedAbout) {
  for (const char* address : {"0.0.0.0", "127.0.0.1"}) {
    CapturedLog log;
    boost::asio::io_context io;
    FakeConnectionControl control;
    MetricsRegistry metrics;
    config::AdminListenerConfig cfg;
    cfg.address = address;
    cfg.token = kToken;
    AdminServer server(io, cfg, control, metrics);
    const bool warned = log.text().find(
                            "without TLS: its bearer token crosses the network in "
                            "clear") != std::string::npos;
    EXPECT_EQ(warned, std::string(address) == "0.0.0.0") << address;
    EXPECT_THAT(log.text(), Not(HasSubstr(kToken)));
  }
}

}  // namespace
}  // namespace oemlink::admin::testing
