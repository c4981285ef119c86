// Tesla.SS256: Tesla's own test vector, verification, the JWS layout vehicle-command produces,
// and PEM keys.
#include "base64.hpp"
#include "schnorr_p256.hpp"
#include "telemetry_config_jws.hpp"
#include "tesla_settings.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <boost/json.hpp>

#include <memory>

namespace oemlink::tesla::test {
namespace {

std::string hex(std::string_view bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

std::unique_ptr<SchnorrP256Key> vector_key() {
  std::string x(32, '\0');
  x[0] = 0x03;  // x = 3 * 2^248, as in vehicle-command's schnorr_test.go
  return SchnorrP256Key::from_scalar(x);
}

std::string pem_of(EVP_PKEY* key) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, size_t(n));
}

TEST(TeslaSchnorr, ReproducesTeslasTestVector) {
  auto key = vector_key();
  ASSERT_TRUE(key);
  EXPECT_EQ(hex(key->sign("hello world")),
            "7cfdbeb5baa730540401550bdefa20976453e8539ae4b2f26ce33125801a08f9"
            "0ed20c3d846497ff82cc9772e3db4703982f47bd0b0b89dfb9a49cd2e5240546"
            "02b1e05fbf95f5686faea7a5809eb92f5ecc22eae74ceccc5e2a65dd67ff20fc");
}

TEST(TeslaSchnorr, VerifiesItsOwnAndRejectsAnyChange) {
  auto key = vector_key();
  const std::string sig = key->sign("hello world");
  EXPECT_TRUE(schnorr_p256_verify(key->public_point(), "hello world", sig));
  EXPECT_FALSE(schnorr_p256_verify(key->public_point(), "hello world!", sig));
  for (size_t i : {0u, 40u, 70u, 95u}) {
    std::string bad = sig;
    bad[i] ^= 0x01;
    EXPECT_FALSE(schnorr_p256_verify(key->public_point(), "hello world", bad)) << "byte " << i;
  }
  std::string other(32, '\0');
  other[31] = 7;
  auto k2 = SchnorrP256Key::from_scalar(other);
  EXPECT_FALSE(schnorr_p256_verify(k2->public_point(), "hello world", sig));
  EXPECT_FALSE(schnorr_p256_verify(key->public_point(), "hello world", sig.substr(0, 95)));
}

TEST(TeslaSchnorr, RefusesOutOfRangeScalars) {
  EXPECT_FALSE(SchnorrP256Key::from_scalar(std::string(32, '\0')));
  EXPECT_FALSE(SchnorrP256Key::from_scalar(std::string(32, '\xff')));  // >= n
  EXPECT_FALSE(SchnorrP256Key::from_scalar(std::string(31, '\x01')));
}

TEST(TeslaSchnorr, ReadsP256PemAndRefusesOtherKeys) {
  EVP_PKEY* p256 = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  ASSERT_TRUE(p256);
  std::string error;
  auto key = SchnorrP256Key::from_pem(pem_of(p256), &error);
  ASSERT_TRUE(key) << error;
  const std::string sig = key->sign("config");
  EXPECT_TRUE(schnorr_p256_verify(key->public_point(), "config", sig));
  EVP_PKEY_free(p256);

  EVP_PKEY* k1 = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "secp256k1");
  EXPECT_FALSE(SchnorrP256Key::from_pem(pem_of(k1), &error));
  EXPECT_EQ(error, "the key is not an EC key on P-256 (prime256v1)");
  EVP_PKEY_free(k1);
  // Review: an encrypted key is refused at once, never prompted for on the terminal.
  {
    EVP_PKEY* enc = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
    char pass[] = "passphrase";
    PEM_write_bio_PrivateKey(bio.get(), enc, EVP_aes_256_cbc(), nullptr, 0, nullptr, pass);
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio.get(), &data);
    EXPECT_FALSE(SchnorrP256Key::from_pem(std::string(data, size_t(n)), &error));
    EXPECT_EQ(error, "the PEM key is encrypted: give it unencrypted (a secret setting)");
    EVP_PKEY_free(enc);
  }
  EXPECT_FALSE(SchnorrP256Key::from_pem("-----BEGIN NOTHING-----", &error));
  EXPECT_EQ(error, "not a PEM private key");
}

TEST(TeslaJws, HasTheLayoutVehicleCommandProduces) {
  TeslaSettings s;
  s.telemetry_hostname = "ft.example.com";
  s.telemetry_port = 4443;
  s.telemetry_ca_pem = "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n";
  s.telemetry_field_list = parse_telemetry_fields(
      R"({"Soc":{"interval_seconds":600,"minimum_delta":1},"Location":{"interval_seconds":60}})");
  auto key = vector_key();
  const boost::json::object config = build_telemetry_config(s);
  const std::string jws = sign_telemetry_config(config, *key);

  const size_t a = jws.find('.'), b = jws.rfind('.');
  ASSERT_NE(a, b);
  EXPECT_EQ(jws.find_first_of("=+/"), std::string::npos);  // base64url without padding
  EXPECT_EQ(*base64_decode(jws.substr(0, a)), R"({"alg":"Tesla.SS256","typ":"JWT"})");
  boost::json::value claims = boost::json::parse(*base64_decode(jws.substr(a + 1, b - a - 1)));
  const auto& c = claims.as_object();
  EXPECT_EQ(c.at("aud").as_string(), "com.tesla.fleet.TelemetryClient");
  EXPECT_EQ(*base64_decode(std::string(c.at("iss").as_string())), key->public_point());
  EXPECT_EQ(c.at("iss").as_string().back(), '=');  // standard base64, padded (65 bytes)
  EXPECT_EQ(c.at("hostname").as_string(), "ft.example.com");
  EXPECT_TRUE(c.at("port").is_int64());  // an integer, not a string (FT#119)
  EXPECT_EQ(c.at("port").as_int64(), 4443);
  EXPECT_EQ(c.at("ca").as_string(), s.telemetry_ca_pem);
  EXPECT_EQ(c.at("fields").at("Soc").at("interval_seconds").as_int64(), 600);
  EXPECT_EQ(c.at("fields").at("Soc").at("minimum_delta").as_double(), 1.0);
  EXPECT_FALSE(c.at("fields").at("Location").as_object().contains("minimum_delta"));
  EXPECT_TRUE(c.at("prefer_typed").as_bool());

  const std::string signature = *base64_decode(jws.substr(b + 1));
  ASSERT_EQ(signature.size(), 96u);
  EXPECT_TRUE(schnorr_p256_verify(key->public_point(), jws.substr(0, b), signature));

  boost::json::value body =
      boost::json::parse(telemetry_config_request_body({"5YJ3E1EA7KF000000"}, jws));
  EXPECT_EQ(body.at("vins").as_array().size(), 1u);
  EXPECT_EQ(body.at("token").as_string(), jws);
}

TEST(TeslaSettingsTest, DefaultFieldSetIsCheapAndValid) {
  auto fields = parse_telemetry_fields(kDefaultTelemetryFields);
  EXPECT_EQ(fields.size(), 11u);
  for (const auto& f : fields) EXPECT_GE(f.interval_seconds, 60) << f.name;
  EXPECT_THROW(parse_telemetry_fields(R"({"Soc":{"interval_seconds":0}})"), std::invalid_argument);
  EXPECT_THROW(parse_telemetry_fields(R"({"Soc":{"interval":5}})"), std::invalid_argument);
  EXPECT_THROW(parse_settings(R"({"client_id":"c","endpoints":["location_data"]})"),
               std::invalid_argument);
  EXPECT_THROW(parse_settings(R"({"client_id":"c","telemetry_config_enabled":true})"),
               std::invalid_argument);
  TeslaSettings s = parse_settings(R"({"client_id":"c"})");
  EXPECT_EQ(s.endpoints.size(), 4u);
  EXPECT_EQ(s.daily_request_budget, 300);
  EXPECT_FALSE(s.wake);
  EXPECT_FALSE(s.location_data);
}

}  // namespace
}  // namespace oemlink::tesla::test
