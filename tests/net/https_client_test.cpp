// CurlMultiClient against a Beast HTTPS server with a CA and certificates made for the test.
#include "core/net/http_client.hpp"
#include "tests/net/net_test_util.hpp"
#include "tests/net/test_pki.hpp"
#include "tests/net/test_server.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>

namespace oemlink::net {
namespace {

using testing::fetch;
using testing::get;
using ::testing::HasSubstr;
using testing::TestPki;
using testing::TestServer;
using testing::TlsServerConfig;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

class HttpsClient : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { pki_ = new TestPki(); }
  static void TearDownTestSuite() {
    delete pki_;
    pki_ = nullptr;
  }

  const TestPki& pki() const { return *pki_; }
  TlsServerConfig server_tls(bool require_client_cert = false) const {
    return {pki_->server_cert(), pki_->server_key(),
            require_client_cert ? pki_->ca_cert() : std::string()};
  }
  HttpClientOptions trusting_test_ca() const {
    HttpClientOptions options;
    options.ca_file = pki_->ca_cert();
    return options;
  }

  boost::asio::io_context io;

 private:
  static inline TestPki* pki_ = nullptr;
};

TEST_F(HttpsClient, VerifiesServerAgainstConfiguredCaAndReusesConnection) {
  TestServer server(server_tls());
  CurlMultiClient client(io, trusting_test_ca());
  for (int i = 0; i < 10; ++i) {
    const HttpResponse r = fetch(io, client, get(server.url("/hello")));
    ASSERT_TRUE(r.transport_ok) << r.error;
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "hello world");
  }
  EXPECT_EQ(server.accepted_connections(), 1);
}

TEST_F(HttpsClient, UnknownCaFailsVerification) {
  TestServer server(server_tls());
  CurlMultiClient client(io, HttpClientOptions{});  // system roots only
  const HttpResponse r = fetch(io, client, get(server.url("/hello")));
  EXPECT_FALSE(r.transport_ok);
  EXPECT_FALSE(r.timed_out);
  EXPECT_THAT(lower(r.error), HasSubstr("certificate"));
  EXPECT_EQ(server.requests_received(), 0);
}

TEST_F(HttpsClient, VerificationCanBeSwitchedOff) {
  TestServer server(server_tls());
  HttpClientOptions options;
  options.verify_tls = false;
  CurlMultiClient client(io, options);
  const HttpResponse r = fetch(io, client, get(server.url("/hello")));
  EXPECT_TRUE(r.transport_ok) << r.error;
}

TEST_F(HttpsClient, LargeBodyOverTls) {
  TestServer server(server_tls());
  CurlMultiClient client(io, trusting_test_ca());
  const HttpResponse r = fetch(io, client, get(server.url("/large")));
  ASSERT_TRUE(r.transport_ok) << r.error;
  EXPECT_TRUE(r.body == TestServer::large_body());
}

TEST_F(HttpsClient, MutualTlsRejectsClientWithoutCertificate) {
  TestServer server(server_tls(/*require_client_cert=*/true));
  CurlMultiClient client(io, trusting_test_ca());
  const HttpResponse r = fetch(io, client, get(server.url("/whoami")));
  EXPECT_FALSE(r.transport_ok);
  EXPECT_FALSE(r.error.empty());
  EXPECT_EQ(server.requests_received(), 0);
}

TEST_F(HttpsClient, MutualTlsAcceptsClientCertificateFromTrustedCa) {
  TestServer server(server_tls(/*require_client_cert=*/true));
  CurlMultiClient client(io, trusting_test_ca());
  HttpRequest request = get(server.url("/whoami"));
  request.identity = {pki().client_cert(), pki().client_key()};
  const HttpResponse r = fetch(io, client, request);
  ASSERT_TRUE(r.transport_ok) << r.error;
  EXPECT_EQ(r.status, 200);
  EXPECT_THAT(r.body, HasSubstr("CN=oemlink-test-client"));
}

TEST_F(HttpsClient, MutualTlsRejectsCertificateFromOtherCa) {
  TestServer server(server_tls(/*require_client_cert=*/true));
  CurlMultiClient client(io, trusting_test_ca());
  HttpRequest request = get(server.url("/whoami"));
  request.identity = {pki().rogue_cert(), pki().rogue_key()};
  const HttpResponse r = fetch(io, client, request);
  EXPECT_FALSE(r.transport_ok);
  EXPECT_EQ(server.requests_received(), 0);
}

TEST_F(HttpsClient, MissingClientKeyFileIsReported) {
  TestServer server(server_tls(/*require_client_cert=*/true));
  CurlMultiClient client(io, trusting_test_ca());
  HttpRequest request = get(server.url("/whoami"));
  request.identity = {pki().client_cert(), pki().file("does-not-exist.key")};
  const HttpResponse r = fetch(io, client, request);
  EXPECT_FALSE(r.transport_ok);
  EXPECT_THAT(r.error, HasSubstr("CURLE_SSL_CERTPROBLEM"));
}

}  // namespace
}  // namespace oemlink::net
