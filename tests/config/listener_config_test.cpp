// `listeners:`: the inbound listener's keys, their defaults and the errors an operator sees.
#include "tests/config/test_support.hpp"

#include <gmock/gmock.h>

namespace oemlink::config::testing {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

TEST(ListenerConfig, AbsentMeansNoListener) {
  Config config = load_config_text("data_dir: /tmp/x\n", "test.yaml", "/etc/oemlink");
  EXPECT_FALSE(config.listeners.inbound);
}

TEST(ListenerConfig, ReadsEveryKeyAndFillsDefaults) {
  ScratchDir dir;
  dir.write("tls/cert.pem", "x");
  dir.write("tls/key.pem", "x");
  Config config = load_config_text(yaml(R"(
listeners:
  inbound:
    address: 0.0.0.0
    port: 8443
    public_url: https://hooks.example.com/oemlink/
    tls: {cert_file: tls/cert.pem, key_file: tls/key.pem}
    max_body: 32KiB
    header_timeout: 5s
    durable_timeout: 12s
)"),
                                   "test.yaml", dir.path());
  ASSERT_TRUE(config.listeners.inbound);
  const ListenerConfig& l = *config.listeners.inbound;
  EXPECT_EQ(l.address, "0.0.0.0");
  EXPECT_EQ(l.port, 8443u);
  EXPECT_EQ(l.public_url, "https://hooks.example.com/oemlink");  // trailing '/' dropped
  EXPECT_EQ(l.tls_cert_file, (dir.path() / "tls/cert.pem").string());
  EXPECT_EQ(l.tls_key_file, (dir.path() / "tls/key.pem").string());
  EXPECT_TRUE(l.tls());
  EXPECT_EQ(l.max_body, 32u * 1024);
  EXPECT_EQ(l.header_timeout, 5s);
  EXPECT_EQ(l.body_timeout, 10s);
  EXPECT_EQ(l.idle_timeout, 60s);
  EXPECT_EQ(l.max_connections, 1024u);
  EXPECT_EQ(l.durable_timeout, 12s);
  EXPECT_EQ(l.position.line, 3);  // where the mapping starts

  Config plain =
      load_config_text("listeners: {inbound: {port: 8080, public_url: 'http://127.0.0.1:8080'}}\n",
                       "test.yaml", "/etc/oemlink");
  ASSERT_TRUE(plain.listeners.inbound);
  EXPECT_FALSE(plain.listeners.inbound->tls());
  EXPECT_EQ(plain.listeners.inbound->address, "127.0.0.1");
  EXPECT_EQ(plain.listeners.inbound->max_body, 64u * 1024);
}

TEST(ListenerConfig, BadValuesAreNamedWithTheirPosition) {
  std::string error = load_error(yaml(R"(
listeners:
  inbound:
    port: 70000
    public_url: ftp://example.com
    max_body: 10MB
    tls: {cert_file: /nonexistent/cert.pem, key_file: /nonexistent/key.pem}
    frobnicate: 1
)"));
  EXPECT_THAT(error, HasSubstr("test.yaml:3:11: listeners.inbound.port: must be a port between 1 "
                               "and 65535"));
  EXPECT_THAT(error, HasSubstr("test.yaml:4:17: listeners.inbound.public_url: must start with "
                               "https:// or http://"));
  EXPECT_THAT(error, HasSubstr("listeners.inbound.tls.cert_file: file not found: "
                               "/nonexistent/cert.pem"));
  EXPECT_THAT(error, HasSubstr("listeners.inbound.tls.key_file: file not found: "
                               "/nonexistent/key.pem"));
  EXPECT_THAT(error, HasSubstr("listeners.inbound.frobnicate"));
}

TEST(ListenerConfig, PortAndPublicUrlAreRequired) {
  std::string error = load_error("listeners:\n  inbound:\n    address: 0.0.0.0\n");
  EXPECT_THAT(error, HasSubstr("port"));
  EXPECT_THAT(error, HasSubstr("public_url"));
  error = load_error("listeners:\n  inbound:\n");
  EXPECT_THAT(error, HasSubstr("test.yaml:2:3: listeners.inbound: give at least port and "
                               "public_url"));
  error = load_error("listeners:\n  outbound: {port: 1}\n");
  EXPECT_THAT(error, HasSubstr("listeners.outbound"));
}

TEST(ListenerConfig, TlsNeedsBothFiles) {
  std::string error = load_error(yaml(R"(
listeners:
  inbound: {port: 8443, public_url: "https://x", tls: {cert_file: c.pem}}
)"));
  EXPECT_THAT(error, HasSubstr("key_file"));
}

}  // namespace
}  // namespace oemlink::config::testing
