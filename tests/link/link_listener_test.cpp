// LinkRoutes behind the real inbound HttpListener: the prefix route "/link/*" for GET and POST,
// the redirect, cookie and JSON over the wire, the listener's per-route counters.
#include "core/host/driver_set.hpp"
#include "core/link/link_routes.hpp"
#include "tests/host/fake_clock.hpp"
#include "tests/link/fake_connection_control.hpp"
#include "tests/net/listener_fixture.hpp"
#include "tests/plugins/mock/mock_fixture.hpp"

#include <gtest/gtest.h>

namespace oemlink::link {
namespace {

using net::testing::post_request;
using net::testing::RawClient;

class NoMint final : public MintSource {
 public:
  MintAnswer prepare(const host::ConnectionView&, const MintFields&) override {
    return {false, "no mint in this test"};
  }
  MintAnswer complete(const host::ConnectionView&, const MintFields&, std::string_view) override {
    return {false, "no mint in this test"};
  }
};

std::string param_of(const std::string& url, const std::string& name) {
  size_t at = url.find("&" + name + "=");
  if (at == std::string::npos) return "";
  at += name.size() + 2;
  return url.substr(at, url.find('&', at) - at);
}

TEST(LinkListener, TheFlowWorksOverHttp) {
  net::testing::ListenerHarness h;
  MetricsRegistry metrics;
  host::testing::FakeClock clock;
  config::Config cfg;
  host::DriverSet drivers(cfg, {});
  test::DriverUnderTest mock(test::mock_descriptor(), "{}");
  ASSERT_TRUE(mock.created());
  config::DriverConfig mock_cfg;
  mock_cfg.name = "mock";
  drivers.adopt(mock_cfg, mock.descriptor(), mock.instance(), nullptr);
  testing::FakeConnectionControl control;
  LinkOptions options;
  options.public_url = "http://127.0.0.1:1";
  auto routes = std::make_unique<LinkRoutes>(h.io(), options, metrics, clock, drivers, control,
                                             std::make_unique<NoMint>());
  routes->add_to(h.routes());
  h.start({});

  RawClient c(h.port());
  c.send("GET /link/mock/start HTTP/1.1\r\nHost: t\r\n\r\n");
  auto start = c.response();
  ASSERT_TRUE(start);
  ASSERT_EQ(start->result_int(), 302) << start->body();
  std::string location((*start)["Location"]);
  std::string set_cookie((*start)["Set-Cookie"]);
  std::string cookie = set_cookie.substr(0, set_cookie.find(';'));
  std::string state = param_of(location, "state");

  c.send("GET /link/mock/callback?code=ok-2&state=" + state +
         " HTTP/1.1\r\nHost: t\r\nCookie: " + cookie + "\r\n\r\n");
  auto linked = c.response();
  ASSERT_TRUE(linked);
  EXPECT_EQ(linked->result_int(), 200) << linked->body();
  EXPECT_EQ((*linked)["Content-Type"], "application/json");
  EXPECT_NE(linked->body().find("\"vehicle_id\":\"mock-2-2\""), std::string::npos);
  EXPECT_EQ(control.rows.size(), 2u);

  c.send(post_request("/link/mock/mint", "{\"connection_id\":\"mock-1\"}"));
  auto mint = c.response();
  ASSERT_TRUE(mint);
  EXPECT_EQ(mint->result_int(), 401);
  c.send("DELETE /link/mock/start HTTP/1.1\r\nHost: t\r\n\r\n");
  auto del = c.response();
  ASSERT_TRUE(del);
  EXPECT_EQ(del->result_int(), 405);  // the route table's: GET and POST only

  EXPECT_EQ(h.counter("responses_link_302"), 1u);
  EXPECT_EQ(h.counter("responses_link_200"), 1u);
  EXPECT_EQ(h.counter("responses_link_401"), 1u);
  h.on_loop([&] {
    routes->close();
    routes.reset();
    return 0;
  });
}

}  // namespace
}  // namespace oemlink::link
