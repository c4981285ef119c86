// Client-certificate authentication on the admin listener, with a throw-away PKI: a certificate
// the configured CA signed authenticates a request without the token; none, one from another CA
// or a self-signed one does not. Without a token, a certificate is required at the handshake.
#include "tests/admin/admin_harness.hpp"
#include "tests/net/test_pki.hpp"

#include <gmock/gmock.h>

#include <cstdlib>

namespace oemlink::admin::testing {
namespace {

const MetricLabels kTlsRejections{{"listener", "admin"}, {"reason", "tls_handshake"}};

using net::testing::TestPki;

class AdminTlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pki_ = new TestPki();
    // A second CA and a client certificate it signed: valid, but not ours.
    const std::string cmd =
        "cd '" + pki_->file("") +
        "' && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
        " -keyout other-ca.key -out other-ca.crt -days 2 -subj /CN=other-ca"
        " -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign"
        " >other.log 2>&1 && openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1"
        " -nodes -keyout other.key -out other.csr -subj /CN=other-client >>other.log 2>&1 &&"
        " openssl x509 -req -in other.csr -CA other-ca.crt -CAkey other-ca.key -CAcreateserial"
        " -out other.crt -days 2 -extfile client.ext >>other.log 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << pki_->file("other.log");
  }
  static void TearDownTestSuite() {
    delete pki_;
    pki_ = nullptr;
  }

  void start(bool with_token) {
    config::AdminListenerConfig cfg;
    if (with_token) cfg.token = kToken;
    cfg.tls_cert_file = pki_->server_cert();
    cfg.tls_key_file = pki_->server_key();
    cfg.client_ca_file = pki_->ca_cert();
    h_.start(cfg);
  }
  ClientTls no_cert() const { return {pki_->ca_cert(), "", ""}; }
  ClientTls good_cert() const { return {pki_->ca_cert(), pki_->client_cert(), pki_->client_key()}; }
  ClientTls other_ca_cert() const {
    return {pki_->ca_cert(), pki_->file("other.crt"), pki_->file("other.key")};
  }
  ClientTls self_signed() const { return {pki_->ca_cert(), pki_->rogue_cert(), pki_->rogue_key()}; }

  // The request's status, or 0 when the TLS session failed (the server refused the certificate).
  int status(const ClientTls& tls, std::optional<std::string> authorization = std::nullopt) {
    try {
      return h_.request("GET", "/admin/connections", "", authorization, &tls).status;
    } catch (const boost::system::system_error&) {
      return 0;
    }
  }

  // The server counts a refused handshake on its loop, which may run after the client saw the
  // alert: wait for it.
  uint64_t tls_refusals(uint64_t expected) {
    for (int i = 0; i < 200 && h_.counter("oemlink_http_rejected_total", kTlsRejections) < expected;
         ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return h_.counter("oemlink_http_rejected_total", kTlsRejections);
  }

  static TestPki* pki_;
  AdminHarness h_;
};

TestPki* AdminTlsTest::pki_ = nullptr;

TEST_F(AdminTlsTest, ACertificateFromTheCaAuthenticatesWithoutTheToken) {
  start(/*with_token=*/true);
  EXPECT_EQ(status(good_cert()), 200);
  EXPECT_EQ(status(no_cert()), 401);  // the token is still asked for
  EXPECT_EQ(status(no_cert(), std::string("Bearer ") + kToken), 200);
  EXPECT_EQ(status(other_ca_cert()), 0);
  EXPECT_EQ(status(other_ca_cert(), std::string("Bearer ") + kToken), 0);  // refused at TLS
  EXPECT_EQ(status(self_signed()), 0);
  EXPECT_EQ(tls_refusals(3), 3u);
  EXPECT_EQ(h_.counter("oemlink_admin_auth_failures_total"), 1u);
}

TEST_F(AdminTlsTest, WithoutATokenACertificateIsRequired) {
  start(/*with_token=*/false);
  EXPECT_EQ(status(good_cert()), 200);
  EXPECT_EQ(status(no_cert()), 0);
  // A bearer token does not stand in for the certificate (there is none to match).
  EXPECT_EQ(status(no_cert(), std::string("Bearer ") + kToken), 0);
  EXPECT_EQ(status(other_ca_cert()), 0);
  EXPECT_EQ(status(self_signed()), 0);
  EXPECT_EQ(tls_refusals(4), 4u);
}

TEST_F(AdminTlsTest, WithoutAClientCaACertificateCountsForNothing) {
  config::AdminListenerConfig cfg;
  cfg.token = kToken;
  cfg.tls_cert_file = pki_->server_cert();
  cfg.tls_key_file = pki_->server_key();
  h_.start(cfg);
  EXPECT_EQ(status(good_cert()), 401);
  EXPECT_EQ(status(no_cert(), std::string("Bearer ") + kToken), 200);
}

TEST(AdminTlsSetup, AClientCaWithoutTlsOrUnreadableIsRefusedNamingIt) {
  boost::asio::io_context io;
  FakeConnectionControl control;
  MetricsRegistry metrics;
  config::AdminListenerConfig cfg;
  cfg.client_ca_file = "/nonexistent/ca.pem";
  cfg.position = {"oemlink.yaml", 12, 3};
  try {
    AdminServer server(io, cfg, control, metrics);
    FAIL() << "no error";
  } catch (const std::exception& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("client certificates need TLS"));
    EXPECT_THAT(e.what(), ::testing::HasSubstr("oemlink.yaml:12"));
  }
  TestPki pki;
  cfg.tls_cert_file = pki.server_cert();
  cfg.tls_key_file = pki.server_key();
  try {
    AdminServer server(io, cfg, control, metrics);
    FAIL() << "no error";
  } catch (const std::exception& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("/nonexistent/ca.pem"));
  }
}

}  // namespace
}  // namespace oemlink::admin::testing
