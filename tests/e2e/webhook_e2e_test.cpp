// The real daemon's inbound listener with the mock driver: a webhook answered 200 survives
// kill -9 right after the answer, and its readings are delivered after a restart.
#include "tests/e2e/cli_fixture.hpp"
#include "tests/e2e/inbound_fixture.hpp"
#include "tests/net/test_pki.hpp"

#include <chrono>
#include <thread>

namespace oemlink::testing {
namespace {

using namespace std::chrono_literals;
using net::testing::post_request;
using net::testing::RawClient;

class WebhookE2eTest : public CliTest {
 protected:
  fs::path config(uint16_t port, const std::string& listener_extra = "") {
    return write("oemlink.yaml",
                 "data_dir: data\n"
                 "schedule: {shutdown_timeout: 3s}\n"
                 "vault: {create_if_missing: true, kek: {file: data/kek.hex}}\n"
                 "listeners:\n"
                 "  inbound: {port: " +
                     std::to_string(port) + ", public_url: \"http://127.0.0.1:" +
                     std::to_string(port) + "\"" + listener_extra +
                     "}\n"
                     "drivers:\n"
                     "  - {name: mock, library: mock, poll_interval: 1h, settings: {webhook: "
                     "true}}\n"
                     "connections:\n"
                     "  - {id: car-1, driver: mock, vehicle_token_id: 1, synthetic_token_id: 101, "
                     "key_child: 1}\n"
                     "sinks:\n"
                     "  - {name: events, type: file, path: events.jsonl}\n");
  }

  std::string events() {
    std::string all;
    for (auto& e : fs::recursive_directory_iterator(dir_))
      if (e.path().filename().string().starts_with("events")) all += slurp(e.path());
    return all;
  }
};

TEST_F(WebhookE2eTest, AnAcknowledgedWebhookSurvivesKillMinus9) {
  const uint16_t port = free_port();
  // Generous: under sanitizers on a loaded CI machine a commit can take seconds, and a 503 after
  // the hold's timeout would test the machine, not the hold.
  const fs::path cfg = config(port, ", durable_timeout: 60s");
  pid_t daemon = spawn({"run", "--config", cfg.string()}, kExe, "first");
  ASSERT_TRUE(wait_for_listener(port, daemon)) << slurp(dir_ / "first.err");

  RawClient c(port, 90s);
  // A value and a time no simulated poll produces.
  c.send(
      post_request("/webhooks/mock",
                   R"({"connection":"car-1","readings":[)"
                   R"({"name":"speed","value":123.25,"timestamp_ms":1700000000123},)"
                   R"({"name":"powertrainRange","value":321.5,"timestamp_ms":1700000000123}]})"));
  auto res = c.response();
  // Killed the moment the 200 is read: nothing after the answer may be needed.
  kill(daemon, SIGKILL);
  Result first = wait_for(daemon, "first");
  ASSERT_TRUE(res) << first.err;
  ASSERT_EQ(res->result_int(), 200) << res->body() << first.err;
  EXPECT_EQ(res->body(), R"({"ok":true})");
  EXPECT_EQ(first.rc, 128 + SIGKILL);

  // The restarted daemon delivers what the first acknowledged.
  pid_t again = spawn({"run", "--config", cfg.string()}, kExe, "second");
  // Up before it is stopped: a SIGTERM while the executable is still being loaded (tens of ms
  // under sanitizers, before `run` takes over signals) meets the default action.
  ASSERT_TRUE(wait_for_listener(port, again)) << slurp(dir_ / "second.err");
  bool delivered = false;
  for (int i = 0; i < 1200 && !delivered; ++i) {  // up to 60 s: a sanitizer build starts slowly
    std::this_thread::sleep_for(50ms);
    std::string all = events();
    delivered = all.find("123.25") != std::string::npos && all.find("321.5") != std::string::npos;
  }
  kill(again, SIGTERM);
  Result second = wait_for(again, "second");
  EXPECT_TRUE(delivered) << "events:\n"
                         << events() << "\nfirst:\n"
                         << first.err << "\nsecond:\n"
                         << second.err;
  EXPECT_EQ(second.rc, 0) << second.err;
}

TEST_F(WebhookE2eTest, AbuseIsAnsweredAndCountedWhileDeliveriesGoThrough) {
  const uint16_t port = free_port();
  const fs::path cfg = config(port, ", header_timeout: 500ms, max_body: 2KiB");
  pid_t daemon = spawn({"run", "--config", cfg.string()}, kExe, "daemon");
  ASSERT_TRUE(wait_for_listener(port, daemon)) << slurp(dir_ / "daemon.err");

  RawClient slow(port, 5s);
  slow.send("POST /webhooks/mock HTTP/1.1\r\nHost: x\r\n");  // and nothing more
  RawClient big(port);
  big.send("POST /webhooks/mock HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n");
  auto res = big.response();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result_int(), 413);
  RawClient other(port);
  other.send(post_request("/webhooks/tesla", "{}"));
  res = other.response();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result_int(), 404);
  RawClient bad(port);
  bad.send(post_request("/webhooks/mock", "{nope"));
  res = bad.response();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result_int(), 400);  // the driver's own answer, relayed
  RawClient good(port);
  good.send(post_request("/webhooks/mock",
                         R"({"connection":"car-1","readings":[{"name":"speed","value":1}]})"));
  res = good.response();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result_int(), 200);
  res = slow.response();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result_int(), 408);

  kill(daemon, SIGTERM);
  Result r = wait_for(daemon, "daemon");
  EXPECT_EQ(r.rc, 0) << r.err;
  // The final status.json holds every counter (all exist from the start: check the values).
  std::string status = slurp(dir_ / "data/status.json");
  auto value = [&status](std::string_view name, const MetricLabels& match) {
    return status_metric(status, name, match);
  };
  EXPECT_EQ(
      value("oemlink_http_rejected_total", {{"listener", "inbound"}, {"reason", "header_timeout"}}),
      1)
      << status;
  EXPECT_EQ(
      value("oemlink_http_rejected_total", {{"listener", "inbound"}, {"reason", "body_too_large"}}),
      1)
      << status;
  EXPECT_EQ(
      value("oemlink_http_rejected_total", {{"listener", "inbound"}, {"reason", "not_found"}}), 1)
      << status;
  EXPECT_EQ(value("oemlink_http_requests_total",
                  {{"code", "200"}, {"listener", "inbound"}, {"route", "webhook_mock"}}),
            1)
      << status;
  EXPECT_EQ(value("oemlink_http_requests_total",
                  {{"code", "400"}, {"listener", "inbound"}, {"route", "webhook_mock"}}),
            1)
      << status;
  EXPECT_EQ(
      value("oemlink_webhook_answers_total", {{"driver", "mock"}, {"outcome", "answered_2xx"}}), 1)
      << status;
  EXPECT_EQ(
      value("oemlink_webhook_answers_total", {{"driver", "mock"}, {"outcome", "answered_other"}}),
      1)
      << status;
}

TEST_F(WebhookE2eTest, TlsFromTheConfigServesHttps) {
  net::testing::TestPki pki;
  const uint16_t port = free_port();
  const fs::path cfg = config(port, ", tls: {cert_file: \"" + pki.server_cert() +
                                        "\", key_file: \"" + pki.server_key() + "\"}");
  pid_t daemon = spawn({"run", "--config", cfg.string()}, kExe, "daemon");
  ASSERT_TRUE(wait_for_listener(port, daemon)) << slurp(dir_ / "daemon.err");

  namespace asio = boost::asio;
  asio::io_context io;
  asio::ssl::context ctx(asio::ssl::context::tls_client);
  ctx.load_verify_file(pki.ca_cert());
  ctx.set_verify_mode(asio::ssl::verify_peer);
  asio::ssl::stream<asio::ip::tcp::socket> s(io, ctx);
  s.next_layer().connect({asio::ip::make_address("127.0.0.1"), port});
  s.set_verify_callback(asio::ssl::host_name_verification("localhost"));
  s.handshake(asio::ssl::stream_base::client);
  std::string req = post_request(
      "/webhooks/mock", R"({"connection":"car-1","readings":[{"name":"speed","value":7}]})");
  asio::write(s, asio::buffer(req));
  boost::beast::flat_buffer buf;
  boost::beast::http::response<boost::beast::http::string_body> res;
  boost::beast::http::read(s, buf, res);
  EXPECT_EQ(res.result_int(), 200) << res.body();
  // Plain HTTP on the TLS port is not served.
  RawClient plain(port);
  plain.send(post_request("/webhooks/mock", "{}"));
  EXPECT_FALSE(plain.response());

  kill(daemon, SIGTERM);
  Result r = wait_for(daemon, "daemon");
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_HAS(r.err, "(https)");
}

TEST_F(WebhookE2eTest, APortInUseStopsTheStartNamingIt) {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor taken(
      io, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  const uint16_t port = taken.local_endpoint().port();
  Result r = run({"run", "--config", config(port).string(), "--duration", "5s"});
  EXPECT_NE(r.rc, 0);
  EXPECT_HAS(r.err, "127.0.0.1:" + std::to_string(port));
  EXPECT_HAS(r.err, "oemlink.yaml:");
}

}  // namespace
}  // namespace oemlink::testing
