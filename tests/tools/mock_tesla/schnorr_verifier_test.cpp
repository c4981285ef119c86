// The mock's Tesla.SS256 verifier against Tesla's own test vector (shared/spec/oem-apis.md) and
// against signatures from the test signer, intact and altered.
#include "tools/mock-oem/tesla/schnorr_verifier.hpp"

#include "tests/tools/mock_tesla/test_schnorr_signer.hpp"

#include <gtest/gtest.h>

#include <string>

namespace oemlink::mock_oem::testing {
namespace {

using tesla::schnorr_p256_verify;

std::string unhex(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    out += static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16));
  return out;
}

bool verify(const std::string& key, std::string_view message, const std::string& sig) {
  return schnorr_p256_verify({reinterpret_cast<const unsigned char*>(key.data()), key.size()},
                             message,
                             {reinterpret_cast<const unsigned char*>(sig.data()), sig.size()});
}

constexpr std::string_view kTeslaVector =
    "7cfdbeb5baa730540401550bdefa20976453e8539ae4b2f26ce33125801a08f90ed20c3d846497ff82cc9772e3db"
    "4703982f47bd0b0b89dfb9a49cd2e524054602b1e05fbf95f5686faea7a5809eb92f5ecc22eae74ceccc5e2a65dd"
    "67ff20fc";

TestKey tesla_vector_key() {
  std::string x(32, '\0');
  x[0] = 0x03;  // x = 3·2^248
  return test_key_from_scalar(x);
}

TEST(SchnorrVerifier, TeslaVectorVerifies) {
  const TestKey key = tesla_vector_key();
  const std::string sig = unhex(kTeslaVector);
  ASSERT_EQ(sig.size(), 96u);
  EXPECT_TRUE(verify(key.public_point, "hello world", sig));
}

TEST(SchnorrVerifier, TeslaVectorRefusedWhenAnythingChanges) {
  const TestKey key = tesla_vector_key();
  const std::string sig = unhex(kTeslaVector);
  EXPECT_FALSE(verify(key.public_point, "hello world!", sig));
  EXPECT_FALSE(verify(key.public_point, "", sig));
  for (size_t byte : {0u, 31u, 32u, 63u, 64u, 95u}) {
    std::string bad = sig;
    bad[byte] = static_cast<char>(bad[byte] ^ 0x01);
    EXPECT_FALSE(verify(key.public_point, "hello world", bad)) << "byte " << byte;
  }
  EXPECT_FALSE(verify(make_test_key().public_point, "hello world", sig));
  EXPECT_FALSE(verify(key.public_point, "hello world", sig.substr(0, 95)));
  std::string compressed = key.public_point;
  compressed[0] = 0x02;
  EXPECT_FALSE(verify(compressed, "hello world", sig));
}

TEST(SchnorrVerifier, AcceptsFreshSignaturesAndRefusesForeignOnes) {
  const TestKey key = make_test_key();
  const TestKey other = make_test_key();
  for (int i = 0; i < 8; ++i) {
    const std::string message = "message " + std::to_string(i);
    const std::string sig = schnorr_sign(key, message);
    EXPECT_TRUE(verify(key.public_point, message, sig));
    EXPECT_FALSE(verify(other.public_point, message, sig));
    EXPECT_FALSE(verify(key.public_point, message + ".", sig));
  }
  // r >= n is refused rather than reduced.
  std::string sig = schnorr_sign(key, "m");
  for (size_t i = 64; i < 96; ++i) sig[i] = static_cast<char>(0xff);
  EXPECT_FALSE(verify(key.public_point, "m", sig));
}

}  // namespace
}  // namespace oemlink::mock_oem::testing
