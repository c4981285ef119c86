// The HTTP client's TLS floor is its own: TLS 1.2 at least, even where the OpenSSL
// configuration would still allow TLS 1.1. Its own executable, because the configuration below
// (security level 0, every protocol) applies to the whole process.
#include "core/net/http_client.hpp"
#include "tests/net/net_test_util.hpp"
#include "tests/net/test_pki.hpp"
#include "tests/net/test_server.hpp"

#include <gtest/gtest.h>

#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace oemlink::net {
namespace {

using testing::fetch;
using testing::get;
using testing::TestPki;
using testing::TestServer;

// Before OpenSSL initialises (static initialisation precedes main): a configuration as
// permissive as an old or hand-edited openssl.cnf.
const bool kPermissiveOpenSsl = [] {
  const auto path = std::filesystem::temp_directory_path() /
                    ("oemlink-tls-floor-" + std::to_string(::getpid()) + ".cnf");
  std::ofstream(path) << "openssl_conf = init\n"
                         "[init]\nssl_conf = ssl_sect\n"
                         "[ssl_sect]\nsystem_default = sys\n"
                         "[sys]\nCipherString = DEFAULT@SECLEVEL=0\nMinProtocol = TLSv1\n";
  ::setenv("OPENSSL_CONF", path.c_str(), 1);
  return true;
}();

class HttpsTlsFloor : public ::testing::Test {
 protected:
  static void TearDownTestSuite() { std::filesystem::remove(::getenv("OPENSSL_CONF")); }
  TestPki pki_;
  boost::asio::io_context io_;
  HttpClientOptions trusting_test_ca() const {
    HttpClientOptions options;
    options.ca_file = pki_.ca_cert();
    return options;
  }
};

TEST_F(HttpsTlsFloor, AServerOfferingOnlyTls11IsRefused) {
  ASSERT_TRUE(kPermissiveOpenSsl);
  TestServer server(testing::TlsServerConfig{pki_.server_cert(), pki_.server_key(), {}, true});
  CurlMultiClient client(io_, trusting_test_ca());
  const HttpResponse r = fetch(io_, client, get(server.url("/hello")));
  EXPECT_FALSE(r.transport_ok) << "TLS 1.1 accepted, status " << r.status;
  EXPECT_EQ(server.requests_received(), 0);
}

TEST_F(HttpsTlsFloor, TheSameServerOnTls12IsAccepted) {
  TestServer server(testing::TlsServerConfig{pki_.server_cert(), pki_.server_key(), {}, false});
  CurlMultiClient client(io_, trusting_test_ca());
  const HttpResponse r = fetch(io_, client, get(server.url("/hello")));
  EXPECT_TRUE(r.transport_ok) << r.error;
  EXPECT_EQ(r.status, 200);
}

}  // namespace
}  // namespace oemlink::net
