// `listeners:`: the inbound listener's keys, their defaults and the errors an operator sees.
#include "tests/config/test_support.hpp"

#include <gmock/gmock.h>

namespace oemlink::config::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
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

// `listeners.admin`: its keys and defaults, the token from ${file:...}, and the rules that span
// keys (a token or a client CA; a token worth the name; its own port).
TEST(AdminListenerConfig, ReadsEveryKeyAndFillsDefaults) {
  ScratchDir dir;
  dir.write("tls/cert.pem", "x");
  dir.write("tls/key.pem", "x");
  dir.write("tls/clients.pem", "x");
  dir.write("admin.token", "0123456789abcdef0123456789abcdef\n");
  Config config = load_config_text(yaml(R"(
listeners:
  admin:
    address: 0.0.0.0
    port: 9444
    token: ${file:admin.token}
    max_connections: 8
    tls: {cert_file: tls/cert.pem, key_file: tls/key.pem, client_ca_file: tls/clients.pem}
)"),
                                   "test.yaml", dir.path());
  ASSERT_TRUE(config.listeners.admin);
  EXPECT_FALSE(config.listeners.inbound);
  const AdminListenerConfig& a = *config.listeners.admin;
  EXPECT_EQ(a.address, "0.0.0.0");
  EXPECT_EQ(a.port, 9444u);
  EXPECT_EQ(a.token, "0123456789abcdef0123456789abcdef");  // one trailing newline dropped
  EXPECT_EQ(a.max_connections, 8u);
  EXPECT_EQ(a.tls_cert_file, (dir.path() / "tls/cert.pem").string());
  EXPECT_EQ(a.tls_key_file, (dir.path() / "tls/key.pem").string());
  EXPECT_EQ(a.client_ca_file, (dir.path() / "tls/clients.pem").string());
  EXPECT_TRUE(a.tls());
  EXPECT_EQ(a.position.line, 3);

  ::setenv("OEMLINK_TEST_ADMIN_TOKEN", "fedcba9876543210fedcba98", 1);
  Config plain =
      load_config_text("listeners: {admin: {port: 9444, token: '${OEMLINK_TEST_ADMIN_TOKEN}'}}\n",
                       "test.yaml", "/etc/oemlink");
  ::unsetenv("OEMLINK_TEST_ADMIN_TOKEN");
  ASSERT_TRUE(plain.listeners.admin);
  EXPECT_EQ(plain.listeners.admin->address, "127.0.0.1");
  EXPECT_EQ(plain.listeners.admin->token, "fedcba9876543210fedcba98");
  EXPECT_EQ(plain.listeners.admin->max_connections, 64u);
  EXPECT_FALSE(plain.listeners.admin->tls());
}

TEST(AdminListenerConfig, ATokenOrAClientCaIsRequired) {
  std::string error = load_error("listeners:\n  admin:\n    port: 9444\n");
  EXPECT_THAT(error, HasSubstr("test.yaml:3:5: listeners.admin: give token (as ${ENV} or "
                               "${file:...}) or tls.client_ca_file"));
  error = load_error("listeners:\n  admin:\n");
  EXPECT_THAT(error, HasSubstr("listeners.admin: give at least port and token"));
  error = load_error("listeners:\n  admin: {token: 0123456789abcdef0123}\n");
  EXPECT_THAT(error, HasSubstr("listeners.admin.port"));
  // An empty expansion is no token.
  error = load_error("listeners:\n  admin: {port: 9444, token: '${OEMLINK_UNSET_VAR:-}'}\n");
  EXPECT_THAT(error, HasSubstr("listeners.admin.token: give token"));
  // A client CA alone will do.
  ScratchDir dir;
  dir.write("c.pem", "x");
  dir.write("k.pem", "x");
  dir.write("ca.pem", "x");
  Config config = load_config_text(
      "listeners:\n  admin:\n    port: 9444\n    tls: {cert_file: c.pem, key_file: k.pem, "
      "client_ca_file: ca.pem}\n",
      "test.yaml", dir.path());
  EXPECT_TRUE(config.listeners.admin->token.empty());
}

// Two listeners on one port (the same address, or either on every interface) are refused at the
// later one's port; different ports, or different specific addresses, are fine.
TEST(ListenersConfig, EachListenerNeedsAPortOfItsOwn) {
  const std::string inbound =
      "listeners:\n  inbound: {address: 0.0.0.0, port: 9000, public_url: https://x.example}\n";
  const std::string token = "token: 0123456789abcdef0123";
  EXPECT_THAT(load_error(inbound + "  admin: {port: 9000, " + token + "}\n"),
              HasSubstr("is listeners.inbound's port; give the admin API a port of its own"));
  EXPECT_THAT(load_error(inbound + "  operations: {port: 9000}\n"),
              HasSubstr("is listeners.inbound's port; give the operations listener its own"));
  EXPECT_THAT(load_error("listeners:\n  admin: {port: 9001, " + token +
                         "}\n  operations: {address: '::', port: 9001}\n"),
              HasSubstr("is listeners.admin's port; give the operations listener its own"));
  Config fine = load_config_text("listeners:\n  admin: {address: 127.0.0.1, port: 9001, " + token +
                                     "}\n  operations: {address: 127.0.0.2, port: 9001}\n",
                                 "test.yaml", "/");
  ASSERT_TRUE(fine.listeners.operations);
  EXPECT_EQ(fine.listeners.operations->port, 9001u);
}

TEST(AdminListenerConfig, AWeakTokenIsRefusedWithoutQuotingIt) {
  for (const char* token :
       {"short-token", "has a space in the middle of it", "tab\there-and-long"}) {
    std::string error = load_error(
        std::string("listeners:\n  admin:\n    port: 9444\n    token: \"") + token + "\"\n");
    EXPECT_THAT(error, HasSubstr("listeners.admin.token: must be at least 16 visible ASCII "
                                 "characters"))
        << token;
  }
  ScratchDir dir;
  dir.write("weak.token", "hunter2-weak");
  try {
    load_config_text("listeners: {admin: {port: 9444, token: '${file:weak.token}'}}\n", "test.yaml",
                     dir.path());
    FAIL() << "a weak token was accepted";
  } catch (const ConfigError& e) {
    EXPECT_THAT(e.what(), HasSubstr("listeners.admin.token"));
    EXPECT_THAT(e.what(), Not(HasSubstr("hunter2-weak")));  // the expanded value is not quoted
  }
}

TEST(AdminListenerConfig, BadValuesMissingFilesAndASharedPortAreNamed) {
  std::string error = load_error(yaml(R"(
listeners:
  inbound: {port: 8443, public_url: "https://x"}
  admin:
    port: 8443
    token: 0123456789abcdef0123
    max_connections: 0
    tls: {cert_file: /nonexistent/c.pem, key_file: /nonexistent/k.pem, client_ca_file: /nonexistent/ca.pem}
    colour: red
)"));
  EXPECT_THAT(error, HasSubstr("test.yaml:4:11: listeners.admin.port: is listeners.inbound's "
                               "port"));
  EXPECT_THAT(error, HasSubstr("listeners.admin.max_connections: must be at least 1"));
  EXPECT_THAT(error,
              HasSubstr("listeners.admin.tls.cert_file: file not found: /nonexistent/c.pem"));
  EXPECT_THAT(error, HasSubstr("listeners.admin.tls.key_file: file not found"));
  EXPECT_THAT(error, HasSubstr("listeners.admin.tls.client_ca_file: file not found: "
                               "/nonexistent/ca.pem"));
  EXPECT_THAT(error, HasSubstr("listeners.admin.colour"));
  error = load_error(
      "listeners:\n  admin: {port: 9444, token: 0123456789abcdef0123, tls: {cert_file: c.pem}}\n");
  EXPECT_THAT(error, HasSubstr("key_file"));
  // The same port on other addresses is fine.
  Config config = load_config_text(
      "listeners:\n  inbound: {address: 10.0.0.1, port: 8443, public_url: 'https://x'}\n"
      "  admin: {port: 8443, token: 0123456789abcdef0123}\n",
      "test.yaml", "/etc/oemlink");
  EXPECT_EQ(config.listeners.admin->port, 8443u);
}

}  // namespace
}  // namespace oemlink::config::testing
