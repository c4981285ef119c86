#include "webhook_verifier.hpp"

#include <gtest/gtest.h>

namespace oemlink::smartcar {
namespace {

// Vectors from Smartcar's node SDK tests (shared/spec/oem-apis.md).
constexpr std::string_view kChallengeMac =
    "9baf5a7464bd86740ad5a06e439dcf535a075022ed2c92d74efacf646d79328e";
constexpr std::string_view kPizzaMac =
    "4c05a8da471f05156ad717baa4017acd13a3a809850b9ca7d3301dcaaa854f70";

TEST(SmartcarSignature, PublishedVectors) {
  EXPECT_EQ(hmac_sha256_hex("amt", "challenge"), kChallengeMac);
  EXPECT_EQ(hmac_sha256_hex("amt", R"({"pizza":"pasta"})"), kPizzaMac);
}

TEST(SmartcarSignature, ValidForgedWrongKeyAlteredMissing) {
  const std::string body = R"({"pizza":"pasta"})";
  EXPECT_TRUE(signature_valid("amt", body, kPizzaMac));
  std::string upper(kPizzaMac);
  for (char& c : upper) c = static_cast<char>(std::toupper(c));
  EXPECT_TRUE(signature_valid("amt", body, upper));
  std::string forged(kPizzaMac);
  forged[10] = forged[10] == '0' ? '1' : '0';
  EXPECT_FALSE(signature_valid("amt", body, forged));
  EXPECT_FALSE(signature_valid("other-amt", body, kPizzaMac));
  EXPECT_FALSE(signature_valid("amt", R"({"pizza":"pasta" })", kPizzaMac));  // altered body
  EXPECT_FALSE(signature_valid("amt", body, ""));
  EXPECT_FALSE(signature_valid("amt", body, kPizzaMac.substr(0, 63)));
  EXPECT_FALSE(signature_valid("amt", body, std::string(kPizzaMac.substr(0, 62)) + "zz"));
  EXPECT_FALSE(signature_valid("", body, kPizzaMac));
}

}  // namespace
}  // namespace oemlink::smartcar
