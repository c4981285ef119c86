// fleet_telemetry_config_jws and fleet_telemetry_config over HTTP: signed configs are applied
// and read back; unsigned, tampered and foreign-key tokens get 412; skipped, lost and dropped
// configs show as Tesla shows them.
#include "tests/tools/mock_tesla/mock_tesla_process.hpp"
#include "tests/tools/mock_tesla/test_schnorr_signer.hpp"

#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <fstream>

#include <thread>

#include <unistd.h>

namespace oemlink::mock_oem::testing {
namespace {

namespace json = boost::json;

constexpr const char* kConfig =
    R"({"hostname":"ft.example.com","port":443,"ca":"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
        "fields":{"Soc":{"interval_seconds":60},"Location":{"interval_seconds":10,"minimum_delta":50}},
        "alert_types":["service"],"prefer_typed":true})";

std::string post_body(const std::vector<std::string>& vins, const std::string& token) {
  json::array a;
  for (const auto& v : vins) a.emplace_back(v);
  return json::serialize(json::object{{"vins", std::move(a)}, {"token", token}});
}

json::value config_status(MockTesla& mock, const std::string& token, const std::string& vin) {
  const HttpAnswer a = mock.get("/api/1/vehicles/" + vin + "/fleet_telemetry_config", token);
  EXPECT_EQ(a.status, 200) << a.body;
  return a.json().at("response");
}

TEST(MockTeslaTelemetryConfig, ASignedConfigIsAppliedAndReadBack) {
  MockTesla mock({"--accept-refresh-token", "s"});
  ASSERT_TRUE(mock.running());
  const std::string token = mock.access_token("s");
  const TestKey key = make_test_key();
  EXPECT_FALSE(config_status(mock, token, kVinS85).at("config").is_object());

  const HttpAnswer a = mock.post("/api/1/vehicles/fleet_telemetry_config_jws", token,
                                 post_body({kVinS85, kVinS60}, make_telemetry_jws(key, kConfig)));
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(a.json().at("response").at("updated_vehicles").as_int64(), 2);
  for (const char* reason :
       {"missing_key", "unsupported_hardware", "unsupported_firmware", "max_configs"})
    EXPECT_TRUE(a.json().at("response").at("skipped_vehicles").at(reason).as_array().empty());

  const json::value s = config_status(mock, token, kVinS85);
  EXPECT_TRUE(s.at("synced").as_bool());
  EXPECT_TRUE(s.at("key_paired").as_bool());
  EXPECT_FALSE(s.at("limit_reached").as_bool());
  EXPECT_EQ(s.at("config").at("hostname").as_string(), "ft.example.com");
  EXPECT_EQ(s.at("config").at("fields").at("Location").at("minimum_delta").as_int64(), 50);
  EXPECT_FALSE(s.at("config").as_object().contains("iss"));
  EXPECT_EQ(mock.stats().at("accounts").at("default").at("commands").to_number<uint64_t>(), 1u);

  // DELETE removes it.
  EXPECT_EQ(http("DELETE", mock.base() + "/api/1/vehicles/" + kVinS85 + "/fleet_telemetry_config",
                 {}, {"Authorization: Bearer " + token})
                .json()
                .at("response")
                .at("updated_vehicles")
                .as_int64(),
            1);
  EXPECT_TRUE(config_status(mock, token, kVinS85).at("config").is_null());
}

TEST(MockTeslaTelemetryConfig, UnsignedTamperedAndForeignTokensGet412) {
  const std::string key_file =
      ::testing::TempDir() + "/partner-public-key-" + std::to_string(::getpid()) + ".pem";
  const TestKey partner = make_test_key();
  {
    // The partner's public key as its .well-known PEM.
    EVP_PKEY* pkey = nullptr;
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr);
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string("group", const_cast<char*>("prime256v1"), 0),
        OSSL_PARAM_construct_octet_string("pub", const_cast<char*>(partner.public_point.data()),
                                          partner.public_point.size()),
        OSSL_PARAM_construct_end()};
    ASSERT_EQ(EVP_PKEY_fromdata_init(ctx), 1);
    ASSERT_EQ(EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params), 1);
    FILE* f = std::fopen(key_file.c_str(), "w");
    ASSERT_TRUE(f);
    PEM_write_PUBKEY(f, pkey);
    std::fclose(f);
    EVP_PKEY_free(pkey);
    EVP_PKEY_CTX_free(ctx);
  }
  MockTesla mock({"--accept-refresh-token", "s", "--partner-public-key", key_file});
  ASSERT_TRUE(mock.running()) << mock.err();
  const std::string token = mock.access_token("s");
  const std::string path = "/api/1/vehicles/fleet_telemetry_config_jws";

  const std::string good = make_telemetry_jws(partner, kConfig);
  const std::string unsigned_jws = good.substr(0, good.rfind('.') + 1);
  std::string tampered = good;
  tampered[tampered.size() - 5] = tampered[tampered.size() - 5] == 'A' ? 'B' : 'A';
  for (const auto& bad : {unsigned_jws, tampered, make_telemetry_jws(make_test_key(), kConfig),
                          make_telemetry_jws(partner, kConfig, "ES256")}) {
    const HttpAnswer a = mock.post(path, token, post_body({kVinS85}, bad));
    EXPECT_EQ(a.status, 412) << a.body;
  }
  EXPECT_TRUE(config_status(mock, token, kVinS85).at("config").is_null());
  // The config posted unsigned, as without the vehicle-command proxy: 412 too.
  EXPECT_EQ(mock.post("/api/1/vehicles/fleet_telemetry_config", token,
                      std::string(R"({"vins":[")") + kVinS85 + R"("],"config":)" + kConfig + "}")
                .status,
            412);
  EXPECT_EQ(mock.post(path, token, post_body({kVinS85}, good)).status, 200);

  // A config Fleet Telemetry cannot apply is refused by name (port as a string, FT#119).
  const HttpAnswer port = mock.post(
      path, token, post_body({kVinS85}, make_telemetry_jws(partner, R"({"hostname":"h","port":"443",
                 "fields":{"Soc":{"interval_seconds":60}}})")));
  EXPECT_EQ(port.status, 400);
  EXPECT_NE(port.body.find("config.port"), std::string::npos);
  EXPECT_EQ(mock.post(path, token, post_body({"NOPE"}, good)).status, 404);
}

TEST(MockTeslaTelemetryConfig, SkippedLostAndDroppedConfigsShowAsTeslaShowsThem) {
  MockTesla mock({"--accept-refresh-token", "s", "--missing-key", kVinS60, "--firmware",
                  std::string(kVinModel3) + "=2024.20.9", "--config-lost", kVinS85});
  ASSERT_TRUE(mock.running());
  const std::string token = mock.access_token("s");
  const TestKey key = make_test_key();
  const HttpAnswer a =
      mock.post("/api/1/vehicles/fleet_telemetry_config_jws", token,
                post_body({kVinS85, kVinS60, kVinModel3}, make_telemetry_jws(key, kConfig)));
  ASSERT_EQ(a.status, 200) << a.body;
  const json::value r = a.json().at("response");
  // Too many apps on kVinS85: counted as updated, yet no config and limit_reached.
  EXPECT_EQ(r.at("updated_vehicles").as_int64(), 1);
  EXPECT_EQ(r.at("skipped_vehicles").at("missing_key"), json::array({kVinS60}));
  EXPECT_EQ(r.at("skipped_vehicles").at("unsupported_firmware"), json::array({kVinModel3}));
  const json::value lost = config_status(mock, token, kVinS85);
  EXPECT_TRUE(lost.at("config").is_null());
  EXPECT_TRUE(lost.at("limit_reached").as_bool());
  EXPECT_FALSE(config_status(mock, token, kVinS60).at("key_paired").as_bool());
}

TEST(MockTeslaTelemetryConfig, ConfigsVanishWhenConsentIsRevoked) {
  MockTesla mock({"--accept-refresh-token", "s", "--drop-config", std::string(kVinS60) + "=300",
                  "--config-sync-ms", "200", "--state", std::string(kVinModel3) + "=asleep"});
  ASSERT_TRUE(mock.running());
  const std::string token = mock.access_token("s");
  const TestKey key = make_test_key();
  ASSERT_EQ(mock.post("/api/1/vehicles/fleet_telemetry_config_jws", token,
                      post_body({kVinS85, kVinS60, kVinModel3}, make_telemetry_jws(key, kConfig)))
                .status,
            200);
  // Not synced until the sync delay has passed, nor while the car sleeps.
  EXPECT_FALSE(config_status(mock, token, kVinS85).at("synced").as_bool());
  EXPECT_TRUE(config_status(mock, token, kVinS60).at("config").is_object());
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  EXPECT_TRUE(config_status(mock, token, kVinS85).at("synced").as_bool());
  EXPECT_FALSE(config_status(mock, token, kVinModel3).at("synced").as_bool());
  EXPECT_TRUE(config_status(mock, token, kVinModel3).at("config").is_object());
  EXPECT_TRUE(config_status(mock, token, kVinS60).at("config").is_null());
  // And on demand through the control API.
  ASSERT_EQ(
      http("POST", mock.base() + "/mock/drop-config", std::string(R"({"vin":")") + kVinS85 + "\"}")
          .status,
      200);
  EXPECT_TRUE(config_status(mock, token, kVinS85).at("config").is_null());
}

}  // namespace
}  // namespace oemlink::mock_oem::testing
