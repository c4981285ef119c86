// Telemetry config sync through the built driver: read back, post the signed config, read
// skipped_vehicles, trust only what GET shows, re-check daily, car-side errors via the partner
// token.
#include "base64.hpp"
#include "schnorr_p256.hpp"
#include "telemetry_config_jws.hpp"
#include "telemetry_config_sync.hpp"
#include "tesla_driver_fixture.hpp"

#include <oemlink/driver.hpp>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <boost/json.hpp>

#include <fstream>

#include <unistd.h>

namespace oemlink::tesla::test {
namespace {

// Named per process: ctest runs each case of this fixture as its own process, in parallel, and
// a shared path let one case's key be rewritten under another's driver (a CI failure).
std::string write_file(const std::string& name, const std::string& text) {
  const std::string path =
      ::testing::TempDir() + "/tesla_" + std::to_string(::getpid()) + "_" + name;
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

std::string new_p256_pem() {
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  EVP_PKEY_free(key);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, size_t(n));
}

const std::string kCa = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

class TeslaTelemetryConfigTest : public TeslaDriverTest {
 protected:
  // `extra`: more settings members, each with a leading comma.
  void start(const std::string& extra = "") {
    const std::string ca = write_file("ca.pem", kCa);
    const std::string key = write_file("partner.pem", new_p256_pem());
    create(R"(,"client_secret":"cs","telemetry_config_enabled":true,)"
           R"("telemetry_hostname":"ft.test","telemetry_port":4443,"telemetry_ca_file":")" +
           ca + R"(","telemetry_partner_key_file":")" + key +
           R"(","telemetry_fields":{"Soc":{"interval_seconds":600,"minimum_delta":1}})" + extra);
    car = open_car(0, kVin1, "123");
  }
  // The config the driver wants, as a GET shows it once applied.
  static std::string desired_config() {
    TeslaSettings s;
    s.telemetry_hostname = "ft.test";
    s.telemetry_port = 4443;
    s.telemetry_ca_pem = kCa;
    s.telemetry_field_list =
        parse_telemetry_fields(R"({"Soc":{"interval_seconds":600,"minimum_delta":1}})");
    return boost::json::serialize(build_telemetry_config(s));
  }
  std::string config_answer(const std::string& config, bool key_paired = true,
                            bool limit_reached = false, bool synced = true) {
    return R"({"response":{"synced":)" + std::string(synced ? "true" : "false") + R"(,"config":)" +
           config + R"(,"key_paired":)" + (key_paired ? "true" : "false") + R"(,"limit_reached":)" +
           (limit_reached ? "true" : "false") + "}}";
  }
  const std::string vd = R"({"response":{"vin":")" + kVin1 +
                         R"(","charge_state":{"battery_level":50,"timestamp":1}}})";
  oemlink_conn* car = nullptr;
};

TEST_F(TeslaTelemetryConfigTest, PostsTheSignedConfigAndTrustsOnlyTheReadBack) {
  start();
  script(200, token_reply(access1, "r1"));
  script(200, region_reply(kRegion));
  script(200, config_answer("null", true, false, false));
  script(200, R"({"response":{"updated_vehicles":0,"skipped_vehicles":{"missing_key":[")" + kVin1 +
                  R"("],"unsupported_hardware":[],"unsupported_firmware":[],"max_configs":[]}}})");
  script(200, list_reply({{"123", kVin1, "online"}}));
  script(200, vd);
  EXPECT_EQ(d->poll(car).status, OEMLINK_OK);
  ASSERT_GE(host().requests.size(), 4u);
  EXPECT_EQ(host().requests[2].url,
            kRegion + "/api/1/vehicles/" + kVin1 + "/fleet_telemetry_config");
  const auto& post = host().requests[3];
  EXPECT_EQ(post.method, "POST");
  EXPECT_EQ(post.url, kRegion + "/api/1/vehicles/fleet_telemetry_config_jws");

  // The posted token is a Tesla.SS256 JWS that verifies under the key named in `iss`.
  boost::json::value body = boost::json::parse(post.body);
  EXPECT_EQ(body.at("vins").as_array().at(0).as_string(), kVin1);
  const std::string jws(body.at("token").as_string());
  const size_t a = jws.find('.'), b = jws.rfind('.');
  boost::json::object claims =
      boost::json::parse(*base64_decode(jws.substr(a + 1, b - a - 1))).as_object();
  const std::string pub = *base64_decode(std::string(claims.at("iss").as_string()));
  EXPECT_TRUE(schnorr_p256_verify(pub, jws.substr(0, b), *base64_decode(jws.substr(b + 1))));
  EXPECT_EQ(claims.at("hostname").as_string(), "ft.test");
  EXPECT_EQ(claims.at("ca").as_string(), kCa);

  // Skipped: surfaced as the car's reason and counted, and polling goes on.
  EXPECT_EQ(last_state().state, OEMLINK_STATE_OK);
  EXPECT_NE(last_state().reason.find("skipped the car: missing_key"), std::string::npos)
      << last_state().reason;
  EXPECT_EQ(counter("telemetry_config_posts"), 1u);
  EXPECT_EQ(counter("telemetry_config_skipped"), 1u);
  EXPECT_EQ(host().emits.size(), 1u);

  // Ten minutes later the read-back shows the config: in line. The car-side errors are read
  // with the partner token.
  claims.erase("iss");
  claims.erase("aud");
  host().now_ms += 10 * 60'000;
  script(200, config_answer(boost::json::serialize(claims)));
  script(200, R"({"access_token":"partner-tok","expires_in":28800,"token_type":"Bearer"})");
  script(200, R"({"response":{"fleet_telemetry_errors":[{"vin":")" + kVin1 +
                  R"(","name":"ft","error":"tls: bad certificate"}]}})");
  script(200, list_reply({{"123", kVin1, "online"}}));
  script(200, vd);
  EXPECT_EQ(d->poll(car).status, OEMLINK_OK);
  const size_t n = host().requests.size();
  const auto& partner = host().requests[n - 4];
  EXPECT_EQ(partner.url, kAuth + "/oauth2/v3/token");
  EXPECT_NE(partner.body.find("grant_type=client_credentials"), std::string::npos);
  EXPECT_NE(partner.body.find("audience=https%3A%2F%2Ffleet.test"), std::string::npos);
  EXPECT_EQ(host().requests[n - 3].url,
            kDiscovery + "/api/1/partner_accounts/fleet_telemetry_errors");
  EXPECT_EQ(host().requests[n - 3].header("Authorization"), "Bearer partner-tok");
  EXPECT_EQ(counter("telemetry_config_in_line"), 1u);
  EXPECT_NE(last_state().reason.find("tls: bad certificate"), std::string::npos)
      << last_state().reason;

  // In line: not read again until the daily re-check.
  host().now_ms += 60 * 60'000;
  script(200, list_reply({{"123", kVin1, "online"}}));
  script(200, vd);
  d->poll(car);
  for (size_t i = n; i < host().requests.size(); ++i)
    EXPECT_EQ(host().requests[i].url.find("fleet_telemetry"), std::string::npos);
  host().now_ms += 24 * 3600'000;
  script(200, token_reply(access2, "r2"));
  script(200, config_answer("null"));  // vanished (consent revoked, another app): post again
  script(200, R"({"response":{"updated_vehicles":1,"skipped_vehicles":{}}})");
  script(200, list_reply({{"123", kVin1, "online"}}));
  script(200, vd);
  d->poll(car);
  EXPECT_EQ(counter("telemetry_config_posts"), 2u);
}

TEST_F(TeslaTelemetryConfigTest, LimitReachedAndUnpairedKeyAreReportedNotPosted) {
  start();
  script(200, token_reply(access1, "r1"));
  script(200, region_reply(kRegion));
  script(200, config_answer("null", true, true));
  script(200, list_reply({{"123", kVin1, "asleep"}}));
  d->poll(car);
  for (const auto& r : host().requests)
    EXPECT_EQ(r.url.find("fleet_telemetry_config_jws"), std::string::npos);
  EXPECT_EQ(counter("telemetry_config_posts"), 0u);
  EXPECT_EQ(counter("telemetry_config_limit_reached"), 1u);
  bool logged = false;
  for (const auto& l : host().logs)
    logged |= l.message.find("limit of telemetry configs") != std::string::npos;
  EXPECT_TRUE(logged);
}

TEST_F(TeslaTelemetryConfigTest, ConfigMatchingIsExact) {
  TeslaSettings s;
  s.telemetry_hostname = "ft.test";
  s.telemetry_port = 443;
  s.telemetry_ca_pem = kCa;
  s.telemetry_field_list = parse_telemetry_fields(R"({"Soc":{"interval_seconds":600}})");
  const boost::json::object want = build_telemetry_config(s);
  boost::json::object same = want;
  EXPECT_TRUE(TelemetryConfigSync::matches(want, same));
  boost::json::object other = want;
  other["fields"].as_object()["Soc"].as_object()["interval_seconds"] = 60;
  EXPECT_FALSE(TelemetryConfigSync::matches(want, other));
  other = want;
  other["fields"].as_object()["Location"] = boost::json::object{{"interval_seconds", 1}};
  EXPECT_FALSE(TelemetryConfigSync::matches(want, other));
  other = want;
  other["hostname"] = "elsewhere";
  EXPECT_FALSE(TelemetryConfigSync::matches(want, other));
  EXPECT_FALSE(TelemetryConfigSync::matches(want, boost::json::value(nullptr)));
}

// With the stream up and the car's config in line, a car that has not streamed yet (the daemon
// just started) and is listed asleep costs nothing more: it will connect when it wakes.
TEST_F(TeslaTelemetryConfigTest, AnInLineConfigMakesAnAsleepCarQuietBeforeItStreams) {
  static oemlink_mqtt_status_fn on_status = nullptr;
  static void* status_ctx = nullptr;
  oemlink_mqtt_service mqtt{};
  mqtt.struct_size = sizeof mqtt;
  mqtt.subscribe = [](const oemlink_host*, const oemlink_mqtt_subscription*,
                      oemlink_mqtt_message_fn, oemlink_mqtt_status_fn st, void* ctx) -> uint64_t {
    on_status = st;
    status_ctx = ctx;
    return 1;
  };
  mqtt.unsubscribe = [](const oemlink_host*, uint64_t) {};
  start(R"(,"stream_broker_host":"broker.test")");
  host().services[OEMLINK_SERVICE_MQTT] = &mqtt;
  Completion ended;
  d->descriptor()->stream_start(d->instance(), nullptr, nullptr, &Completion::record, &ended);
  ASSERT_NE(on_status, nullptr);
  on_status(status_ctx, 1, to_str(""));

  script(200, token_reply(access1, "r1"));
  script(200, region_reply(kRegion));
  script(200, config_answer(desired_config()));
  script(200, R"({"access_token":"partner-tok","expires_in":28800,"token_type":"Bearer"})");
  script(200, R"({"response":{"fleet_telemetry_errors":[]}})");
  script(200, list_reply({{"123", kVin1, "asleep"}}));
  d->poll(car);
  ASSERT_EQ(host().requests.size(), 6u);
  EXPECT_EQ(counter("telemetry_config_in_line"), 1u);
  EXPECT_EQ(last_state().state, OEMLINK_STATE_ASLEEP);
  for (int i = 0; i < 24; ++i) {  // two hours of 5-minute polls
    host().now_ms += 5 * 60'000;
    d->poll(car);
  }
  EXPECT_EQ(host().requests.size(), 6u);
  EXPECT_EQ(counter("polls_skipped_stream_asleep"), 24u);
  d->descriptor()->stream_stop(d->instance(), nullptr, nullptr);
}

}  // namespace
}  // namespace oemlink::tesla::test
