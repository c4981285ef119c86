// `oemlink connections ...` in-process against the admin API on a real listener over a fake
// ConnectionControl: every verb in its human and --json forms, the daemon's refusals as exit 1
// with its message, usage errors as 2, a daemon that is down, and client certificates over TLS.
#include "core/cli/command_line.hpp"
#include "tests/admin/admin_harness.hpp"
#include "tests/net/test_pki.hpp"

#include <gmock/gmock.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <fstream>

namespace oemlink::admin::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
namespace json = boost::json;

struct Output {
  int rc;
  std::string out, err;
  json::value json() const {
    boost::system::error_code ec;
    auto v = json::parse(out, ec);
    EXPECT_FALSE(ec) << out;
    return v;
  }
};

// The server side logs in this process too: to stderr, as `oemlink` itself does, so stdout is
// the command's output alone.
struct LogToStderr : ::testing::Environment {
  void SetUp() override {
    spdlog::set_default_logger(std::make_shared<spdlog::logger>(
        "admin-cli-test", std::make_shared<spdlog::sinks::stderr_sink_mt>()));
  }
};
[[maybe_unused]] const auto* const kLogToStderr =
    ::testing::AddGlobalTestEnvironment(new LogToStderr);

Output oemlink(std::vector<std::string> args) {
  ::testing::internal::CaptureStdout();
  ::testing::internal::CaptureStderr();
  int rc = cli::run_oemlink(args);
  std::fflush(stdout);
  std::fflush(stderr);
  std::string out = ::testing::internal::GetCapturedStdout();
  return {rc, out, ::testing::internal::GetCapturedStderr()};
}

class ConnectionsCli : public ::testing::Test {
 protected:
  void SetUp() override {
    h_.start_with_token();
    dir_ = std::filesystem::temp_directory_path() /
           ("oemlink-admin-cli-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    config_ = (dir_ / "oemlink.yaml").string();
    write_config(h_.port());
    h_.on_loop([&] {
      h_.control().put("car-1");
      h_.control().put("car-2", "smartcar", host::ConnectionState::paused).reason = "by hand";
      h_.control().put("car-3");
      return 0;
    });
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void write_config(uint16_t port) {
    std::ofstream(config_) << "data_dir: " << (dir_ / "data").string()
                           << "\nlisteners:\n  admin:\n    port: " << port
                           << "\n    token: ${file:token.txt}\n";
    std::ofstream(dir_ / "token.txt") << kToken << "\n";
  }

  Output run(std::vector<std::string> args) {
    args.insert(args.begin(), "connections");
    args.push_back("--config");
    args.push_back(config_);
    Output o = oemlink(args);
    EXPECT_THAT(o.out + o.err, Not(HasSubstr(kToken)));
    return o;
  }

  std::optional<host::ConnectionView> find(const std::string& id) {
    return h_.on_loop([&] { return h_.control().find(id); });
  }

  AdminHarness h_;
  std::filesystem::path dir_;
  std::string config_;
};

TEST_F(ConnectionsCli, ListAsATableAndAsJson) {
  Output o = run({"list"});
  ASSERT_EQ(o.rc, 0) << o.err;
  EXPECT_THAT(o.out, HasSubstr("ID"));
  EXPECT_THAT(o.out, HasSubstr("DEVICE ADDRESS"));
  EXPECT_THAT(o.out, HasSubstr("car-2"));
  EXPECT_THAT(o.out, HasSubstr("paused"));
  EXPECT_THAT(o.out, HasSubstr(FakeConnectionControl::address_of(3)));
  EXPECT_THAT(o.out, HasSubstr("3 of 3 connections"));

  o = run({"list", "--json"});
  ASSERT_EQ(o.rc, 0) << o.err;
  json::value v = o.json();
  EXPECT_EQ(v.at("connections").as_array().size(), 3u);
  EXPECT_EQ(v.at("total").to_number<int>(), 3);

  o = run({"list", "--limit", "2"});
  EXPECT_THAT(o.out, HasSubstr("2 of 3 connections; next page: --after car-2"));
  o = run({"list", "--limit", "2", "--after", "car-2", "--json"});
  EXPECT_EQ(o.json().at("connections").at(0).at("id"), "car-3");
  o = run({"list", "--limit", "1", "--all", "--json"});  // follows every page
  EXPECT_EQ(o.json().at("connections").as_array().size(), 3u);
  EXPECT_TRUE(o.json().at("next_after").is_null());
  o = run({"list", "--state", "paused"});
  EXPECT_THAT(o.out, HasSubstr("1 of 1 connections"));
  EXPECT_THAT(o.out, Not(HasSubstr("car-1")));
}

TEST_F(ConnectionsCli, ShowAsKeyValueAndAsJson) {
  Output o = run({"show", "car-2"});
  ASSERT_EQ(o.rc, 0) << o.err;
  EXPECT_THAT(o.out, HasSubstr("id:                 car-2\n"));
  EXPECT_THAT(o.out, HasSubstr("state:              paused\n"));
  EXPECT_THAT(o.out, HasSubstr("reason:             by hand\n"));
  EXPECT_THAT(o.out, HasSubstr("device_address:     " + FakeConnectionControl::address_of(2)));
  EXPECT_THAT(o.out, HasSubstr("vehicle_token_id:   -\n"));
  EXPECT_THAT(o.out, HasSubstr("created:            2023-11-14T22:13:20Z\n"));
  EXPECT_THAT(o.out, HasSubstr("mint:               none\n"));
  o = run({"show", "car-2", "--json"});
  EXPECT_EQ(o.json().at("state"), "paused");
  EXPECT_TRUE(o.json().at("mint").is_null());
}

TEST_F(ConnectionsCli, PauseResumePollSetTokensRevokeInBothForms) {
  Output o = run({"pause", "car-1", "--reason", "workshop"});
  ASSERT_EQ(o.rc, 0) << o.err;
  EXPECT_EQ(o.out, "car-1: paused (workshop)\n");
  EXPECT_EQ(find("car-1")->state, host::ConnectionState::paused);
  o = run({"resume", "car-1", "--json"});
  EXPECT_EQ(o.json().at("state"), "active");
  o = run({"poll", "car-1"});
  EXPECT_EQ(o.out, "car-1: poll requested (state active, phase polling)\n");
  o = run({"poll", "car-3", "--json"});
  EXPECT_EQ(o.json().at("phase"), "polling");
  o = run({"set-tokens", "car-1", "--vehicle", "17", "--synthetic", "23"});
  EXPECT_EQ(o.out, "car-1: vehicle token 17, synthetic device token 23\n");
  o = run({"set-tokens", "car-3", "--synthetic", "9", "--json"});
  EXPECT_EQ(o.json().at("synthetic_token_id").to_number<int>(), 9);
  EXPECT_EQ(find("car-1")->vehicle_token_id, 17u);
  o = run({"pause", "car-3", "--json"});
  EXPECT_EQ(o.json().at("state"), "paused");
  o = run({"resume", "car-3"});
  EXPECT_EQ(o.out, "car-3: active\n");
  o = run({"revoke", "car-1", "--reason", "sold"});
  EXPECT_EQ(o.out, "car-1: revoked for good; its tokens are wiped and key child 1 is retired\n");
  o = run({"revoke", "car-3", "--json"});
  EXPECT_EQ(o.json().at("state"), "revoked");
  auto calls = h_.on_loop([&] { return h_.control().calls; });
  EXPECT_EQ(calls.back().verb, "revoke");
  EXPECT_EQ(calls[calls.size() - 2].detail, "sold");
}

TEST_F(ConnectionsCli, AddInBothForms) {
  Output o = run({"add", "--driver", "tesla", "--vin", "5YJ3E1EA7KF999999", "--vehicle-id", "77",
                  "--identifier", "tesla_id=77", "--identifier", "account=fleet", "--id", "car-9"});
  ASSERT_EQ(o.rc, 0) << o.err;
  EXPECT_THAT(o.out, HasSubstr("created car-9 (key child 4, device "));
  auto v = find("car-9");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->identifiers_json, R"({"tesla_id":"77","account":"fleet"})");
  EXPECT_EQ(v->vehicle_id, "77");
  o = run({"add", "--driver", "smartcar", "--vin", "1HGCM82633A004352", "--json"});
  ASSERT_EQ(o.rc, 0) << o.err;
  EXPECT_EQ(o.json().at("created").as_array().size(), 1u);
  // The same car again is refused: exit 1 with the reason.
  o = run({"add", "--driver", "tesla", "--vin", "5YJ3E1EA7KF999999", "--vehicle-id", "77"});
  EXPECT_EQ(o.rc, 1);
  EXPECT_THAT(o.err, HasSubstr("refused: car or id already has a connection"));
}

TEST_F(ConnectionsCli, RefusalsExit1WithTheDaemonsMessageAndUsageErrors2) {
  Output o = run({"show", "ghost"});
  EXPECT_EQ(o.rc, 1);
  EXPECT_THAT(o.err, HasSubstr("oemlink connections show: no connection ghost (HTTP 404)"));
  o = run({"resume", "car-1"});
  EXPECT_EQ(o.rc, 1);
  EXPECT_THAT(o.err, HasSubstr("car-1 is active already (HTTP 409)"));
  o = run({"add", "--driver", "volvo", "--vin", "5YJ3E1EA7KF999999"});
  EXPECT_EQ(o.rc, 1);
  EXPECT_THAT(o.err, HasSubstr("no driver volvo (HTTP 404)"));
  EXPECT_EQ(run({"set-tokens", "car-1"}).rc, 2);
  EXPECT_EQ(run({"pause"}).rc, 2);
  EXPECT_EQ(run({"list", "--state", "sleeping"}).rc, 2);
  EXPECT_EQ(run({"list", "--limit", "0"}).rc, 2);
  EXPECT_EQ(run({"add", "--driver", "tesla", "--vin", "X", "--identifier", "novalue"}).rc, 2);
  EXPECT_EQ(run({"frobnicate"}).rc, 2);
}

TEST_F(ConnectionsCli, AWrongTokenIsRefusedWithoutPrintingEither) {
  std::ofstream(dir_ / "token.txt") << "another-token-of-some-length\n";
  Output o = run({"list"});
  EXPECT_EQ(o.rc, 1);
  EXPECT_THAT(o.err, HasSubstr("the bearer token is not the admin token (HTTP 401)"));
  EXPECT_THAT(o.out + o.err, Not(HasSubstr("another-token-of-some-length")));
}

TEST_F(ConnectionsCli, ADaemonThatIsDownIsNamed) {
  uint16_t port = h_.port();
  h_.stop();
  Output o = run({"list"});
  EXPECT_EQ(o.rc, 1);
  EXPECT_THAT(o.err, HasSubstr("daemon not reachable at 127.0.0.1:" + std::to_string(port)));
  std::ofstream(config_) << "data_dir: " << (dir_ / "data").string() << "\n";
  o = run({"list"});
  EXPECT_EQ(o.rc, 1);
  EXPECT_THAT(o.err, HasSubstr("no listeners.admin"));
}

TEST(ConnectionsCliTls, AClientCertificateOverTlsTrustingTheDaemonsOwnCertificate) {
  net::testing::TestPki pki;
  AdminHarness h;
  config::AdminListenerConfig cfg;
  cfg.tls_cert_file = pki.server_cert();
  cfg.tls_key_file = pki.server_key();
  cfg.client_ca_file = pki.ca_cert();
  h.start(cfg);
  h.on_loop([&] { return h.control().put("car-1").id; });
  const std::string config = pki.file("oemlink.yaml");
  std::ofstream(config) << "data_dir: " << pki.file("data")
                        << "\nlisteners:\n  admin:\n    port: " << h.port()
                        << "\n    tls: {cert_file: server.crt, key_file: server.key, "
                        << "client_ca_file: ca.crt}\n";
  Output o = oemlink({"connections", "show", "car-1", "--config", config, "--cert",
                      pki.client_cert(), "--key", pki.client_key(), "--json"});
  ASSERT_EQ(o.rc, 0) << o.err;
  EXPECT_EQ(o.json().at("id"), "car-1");
  o = oemlink({"connections", "show", "car-1", "--config", config});
  EXPECT_EQ(o.rc, 1);
  EXPECT_THAT(o.err, HasSubstr("admin API at 127.0.0.1:" + std::to_string(h.port())));
  o = oemlink({"connections", "pause", "car-1", "--config", config, "--cert", pki.rogue_cert(),
               "--key", pki.rogue_key()});
  EXPECT_EQ(o.rc, 1);
  EXPECT_EQ(h.on_loop([&] { return h.control().find("car-1")->state; }),
            host::ConnectionState::active);
  // --ca instead of the daemon's own certificate.
  o = oemlink({"connections", "list", "--config", config, "--ca", pki.ca_cert(), "--cert",
               pki.client_cert(), "--key", pki.client_key()});
  EXPECT_EQ(o.rc, 0) << o.err;
}

}  // namespace
}  // namespace oemlink::admin::testing
