// The inbound listener with TLS on: a client that trusts the CA is served, a plain-text client
// is not, and a bad certificate file is refused at construction, naming the file.
#include "tests/net/listener_fixture.hpp"
#include "tests/net/test_pki.hpp"

#include <gtest/gtest.h>

namespace oemlink::net::testing {
namespace {

using namespace std::chrono_literals;

class HttpsListenerTest : public ::testing::Test {
 protected:
  void start() {
    h_.routes().add("POST", "/echo", "echo", [](InboundRequest&& r, ResponderPtr out) {
      out->respond({200, {}, r.body});
    });
    ListenerOptions o;
    o.tls_cert_file = pki_.server_cert();
    o.tls_key_file = pki_.server_key();
    o.header_timeout = 500ms;
    h_.start(o);
  }

  TestPki pki_;
  ListenerHarness h_;
};

TEST_F(HttpsListenerTest, ServesAClientThatTrustsTheCaWithKeepAlive) {
  start();
  EXPECT_TRUE(h_.listener().tls());
  asio::io_context io;
  asio::ssl::context ctx(asio::ssl::context::tls_client);
  ctx.load_verify_file(pki_.ca_cert());
  ctx.set_verify_mode(asio::ssl::verify_peer);
  asio::ssl::stream<tcp::socket> s(io, ctx);
  s.next_layer().connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), h_.port()));
  s.set_verify_callback(asio::ssl::host_name_verification("localhost"));
  s.handshake(asio::ssl::stream_base::client);
  boost::beast::flat_buffer buf;
  for (int i = 0; i < 3; ++i) {
    std::string req = post_request("/echo", "tls " + std::to_string(i));
    asio::write(s, asio::buffer(req));
    http::response<http::string_body> res;
    http::read(s, buf, res);
    EXPECT_EQ(res.result_int(), 200);
    EXPECT_EQ(res.body(), "tls " + std::to_string(i));
  }
  EXPECT_EQ(h_.counter("connections_accepted"), 1u);
}

TEST_F(HttpsListenerTest, PlainTextOnATlsListenerIsClosedAndCounted) {
  start();
  RawClient c(h_.port());
  c.send(post_request("/echo", "plain"));
  EXPECT_FALSE(c.response());
  EXPECT_EQ(h_.counter("rejected_tls_handshake"), 1u);
  EXPECT_EQ(h_.counter("responses_echo_200"), 0u);
}

TEST_F(HttpsListenerTest, AClientThatNeverHandshakesIsCutOff) {
  start();
  RawClient c(h_.port());
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(c.closed_by_server());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
  EXPECT_EQ(h_.counter("rejected_tls_handshake"), 1u);
}

// header_timeout runs from accept, the handshake included: a client that handshakes late and then
// dribbles its header must not get a second full header_timeout (500 ms here) for it.
TEST_F(HttpsListenerTest, TheHandshakeSpendsFromTheHeaderTimeout) {
  start();
  asio::io_context io;
  asio::ssl::context ctx(asio::ssl::context::tls_client);
  ctx.set_verify_mode(asio::ssl::verify_none);
  asio::ssl::stream<tcp::socket> s(io, ctx);
  const auto t0 = std::chrono::steady_clock::now();
  s.next_layer().connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), h_.port()));
  std::this_thread::sleep_for(350ms);
  s.handshake(asio::ssl::stream_base::client);
  const std::string req = post_request("/echo", "slow");
  boost::system::error_code ec;
  std::chrono::steady_clock::duration cut{};
  for (char c : req) {  // one byte every 50 ms: the header alone would take > 2 s
    asio::write(s, asio::buffer(&c, 1), ec);
    if (ec) break;
    std::this_thread::sleep_for(50ms);
    if (h_.counter("rejected_header_timeout") > 0) {
      cut = std::chrono::steady_clock::now() - t0;
      break;
    }
  }
  EXPECT_EQ(h_.counter("rejected_header_timeout"), 1u);
  EXPECT_GT(cut, 400ms);
  EXPECT_LT(cut, 750ms);  // 350 ms of handshake + 500 ms of header would be 850 ms
  EXPECT_EQ(h_.counter("responses_echo_200"), 0u);
}

// With client_ca_file: a certificate the CA signed is verified and its subject handed to the
// handler; one that does not verify fails the handshake; none is allowed unless required.
class HttpsClientCertificateTest : public ::testing::Test {
 protected:
  void start(bool required) {
    h_.routes().add("GET", "/who", "who", [](InboundRequest&& r, ResponderPtr out) {
      out->respond({200, {}, r.client_verified ? "verified " + r.client_subject : "anonymous"});
    });
    ListenerOptions o;
    o.tls_cert_file = pki_.server_cert();
    o.tls_key_file = pki_.server_key();
    o.client_ca_file = pki_.ca_cert();
    o.client_cert_required = required;
    h_.start(o);
  }
  // The body answered, or "refused" when the TLS session failed.
  std::string who(const std::string& cert, const std::string& key) {
    asio::io_context io;
    asio::ssl::context ctx(asio::ssl::context::tls_client);
    ctx.load_verify_file(pki_.ca_cert());
    ctx.set_verify_mode(asio::ssl::verify_peer);
    if (!cert.empty()) {
      ctx.use_certificate_chain_file(cert);
      ctx.use_private_key_file(key, asio::ssl::context::pem);
    }
    asio::ssl::stream<tcp::socket> s(io, ctx);
    s.next_layer().connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), h_.port()));
    boost::system::error_code ec;
    s.handshake(asio::ssl::stream_base::client, ec);
    if (ec) return "refused";
    const std::string req = "GET /who HTTP/1.1\r\nHost: t\r\n\r\n";
    asio::write(s, asio::buffer(req), ec);
    boost::beast::flat_buffer buf;
    http::response<http::string_body> res;
    if (!ec) http::read(s, buf, res, ec);  // with TLS 1.3 a refusal arrives after the handshake
    return ec ? "refused" : res.body();
  }

  // The server counts a refused handshake on its loop, which may run after the client saw the
  // alert: wait for it.
  uint64_t tls_refusals(uint64_t expected) {
    for (int i = 0; i < 200 && h_.counter("rejected_tls_handshake") < expected; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return h_.counter("rejected_tls_handshake");
  }

  TestPki pki_;
  ListenerHarness h_;
};

TEST_F(HttpsClientCertificateTest, AVerifiedCertificateIsHandedToTheHandler) {
  start(/*required=*/false);
  EXPECT_EQ(who(pki_.client_cert(), pki_.client_key()), "verified /CN=oemlink-test-client");
  EXPECT_EQ(who("", ""), "anonymous");
  EXPECT_EQ(who(pki_.rogue_cert(), pki_.rogue_key()), "refused");
  EXPECT_EQ(tls_refusals(1), 1u);
}

TEST_F(HttpsClientCertificateTest, ARequiredCertificateRefusesClientsWithout) {
  start(/*required=*/true);
  EXPECT_EQ(who("", ""), "refused");
  EXPECT_EQ(who(pki_.rogue_cert(), pki_.rogue_key()), "refused");
  EXPECT_EQ(who(pki_.client_cert(), pki_.client_key()), "verified /CN=oemlink-test-client");
  EXPECT_EQ(tls_refusals(2), 2u);
}

TEST_F(HttpsListenerTest, WithoutAClientCaNoCertificateIsAskedFor) {
  h_.routes().add("GET", "/who", "who", [](InboundRequest&& r, ResponderPtr out) {
    out->respond({200, {}, r.client_verified ? "verified" : "anonymous"});
  });
  start();
  asio::io_context io;
  asio::ssl::context ctx(asio::ssl::context::tls_client);
  ctx.load_verify_file(pki_.ca_cert());
  ctx.use_certificate_chain_file(pki_.client_cert());
  ctx.use_private_key_file(pki_.client_key(), asio::ssl::context::pem);
  asio::ssl::stream<tcp::socket> s(io, ctx);
  s.next_layer().connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), h_.port()));
  s.handshake(asio::ssl::stream_base::client);
  const std::string req = "GET /who HTTP/1.1\r\nHost: t\r\n\r\n";
  asio::write(s, asio::buffer(req));
  boost::beast::flat_buffer buf;
  http::response<http::string_body> res;
  http::read(s, buf, res);
  EXPECT_EQ(res.body(), "anonymous");
}

TEST(HttpsListenerSetup, AClientCaNeedsTlsAndAReadableFile) {
  asio::io_context io;
  RouteTable routes;
  MetricsRegistry metrics;
  ListenerOptions o;
  o.client_ca_file = "/nonexistent/ca.pem";
  EXPECT_THROW(HttpListener(io, o, routes, metrics), std::runtime_error);
  TestPki pki;
  o.tls_cert_file = pki.server_cert();
  o.tls_key_file = pki.server_key();
  try {
    HttpListener l(io, o, routes, metrics);
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("client CA file /nonexistent/ca.pem"), std::string::npos)
        << e.what();
  }
}

TEST(HttpsListenerSetup, AMissingCertificateIsRefusedNamingTheFile) {
  asio::io_context io;
  RouteTable routes;
  MetricsRegistry metrics;
  ListenerOptions o;
  o.tls_cert_file = "/nonexistent/cert.pem";
  o.tls_key_file = "/nonexistent/key.pem";
  try {
    HttpListener l(io, o, routes, metrics);
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/cert.pem"), std::string::npos) << e.what();
  }
}

TEST(HttpListenerSetup, APortInUseIsRefusedNamingIt) {
  asio::io_context io;
  RouteTable routes;
  MetricsRegistry metrics;
  ListenerOptions o;
  HttpListener first(io, o, routes, metrics);
  first.start();
  o.port = first.port();
  HttpListener second(io, o, routes, metrics);
  try {
    second.start();
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(":" + std::to_string(o.port)), std::string::npos)
        << e.what();
  }
}

TEST(HttpRouteTable, RefusesDuplicatesAndBadNames) {
  RouteTable t;
  t.add("POST", "/a", "a", {});
  EXPECT_THROW(t.add("POST", "/a", "a2", {}), std::invalid_argument);
  EXPECT_THROW(t.add("POST", "b", "b", {}), std::invalid_argument);
  EXPECT_THROW(t.add("POST", "/b", "B-1", {}), std::invalid_argument);
  t.add("GET", "/a", "a_get", {});
  EXPECT_EQ(t.find("PUT", "/a").allow, "GET, POST");
  t.add("GET", "/p/*", "p", {});
  t.add("GET", "/p/q/*", "pq", {});
  EXPECT_EQ(t.find("GET", "/p/q/r").route->name, "pq");
  EXPECT_EQ(t.find("GET", "/p/x").route->name, "p");
  EXPECT_EQ(t.find("GET", "/px").route, nullptr);
  EXPECT_TRUE(t.remove("GET", "/p/q/*"));
  EXPECT_EQ(t.find("GET", "/p/q/r").route->name, "p");
}

}  // namespace
}  // namespace oemlink::net::testing
