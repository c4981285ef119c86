#include "core/crypto/secp256k1_signer.hpp"

#include "tests/crypto/test_hex.hpp"

#include <gtest/gtest.h>

#include <string>

namespace oemlink::crypto {
namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}
std::string upper_digits(std::string s) {  // keeps the "0x" prefix lowercase
  for (size_t i = 2; i < s.size(); ++i)
    s[i] = static_cast<char>(std::toupper(static_cast<unsigned char>(s[i])));
  return s;
}

TEST(Eip55, SpecVectors) {
  // The examples in EIP-55 itself, including all-caps and all-lowercase outcomes.
  for (const char* want :
       {"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
        "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB", "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
        "0x52908400098527886E0F7030069857D2E4169EE7", "0x8617E340B3D01FA5F11F306F4090FD50E238070D",
        "0xde709f2102306220921060314715629080e2fb77",
        "0x27b1fdb04752bbc536007a920d24acb045561c26"}) {
    const auto a = parse_address(want);
    ASSERT_TRUE(a.has_value()) << want;
    EXPECT_EQ(to_checksum_address(*a), want);
  }
}

TEST(ParseAddress, AnyCaseSameBytes) {
  const std::string mixed = "0x8FF5F4f700242E43EC40ebAee93f390C7aD84aeD";
  const auto a = parse_address(mixed);
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(parse_address(lower(mixed)), a);
  EXPECT_EQ(parse_address(upper_digits(mixed)), a);
  EXPECT_EQ(to_checksum_address(*parse_address(lower(mixed))), mixed);
  EXPECT_EQ(to_checksum_address(*parse_address(upper_digits(mixed))), mixed);
}

TEST(ParseAddress, RejectsMalformed) {
  const std::string good = "0x8ff5f4f700242e43ec40ebaee93f390c7ad84aed";
  EXPECT_EQ(parse_address(good.substr(2)), std::nullopt);         // no prefix
  EXPECT_EQ(parse_address(good.substr(0, 41)), std::nullopt);     // truncated
  EXPECT_EQ(parse_address(good + "0"), std::nullopt);             // overlong
  EXPECT_EQ(parse_address(good + "00"), std::nullopt);            // overlong, even
  EXPECT_EQ(parse_address("0X" + good.substr(2)), std::nullopt);  // only "0x"
  std::string bad = good;
  bad[10] = 'g';
  EXPECT_EQ(parse_address(bad), std::nullopt);
  bad[10] = ' ';
  EXPECT_EQ(parse_address(bad), std::nullopt);
  EXPECT_EQ(parse_address(""), std::nullopt);
}

TEST(SignatureHex, RoundTripAndRejects) {
  Signature65 sig;
  for (size_t i = 0; i < sig.size(); ++i) sig[i] = static_cast<uint8_t>(i * 37 + 1);
  const std::string hex = signature_hex(sig);
  ASSERT_EQ(hex.size(), 132u);
  EXPECT_EQ(hex.substr(0, 2), "0x");
  EXPECT_EQ(hex, lower(hex));
  EXPECT_EQ(parse_signature_hex(hex), sig);
  EXPECT_EQ(parse_signature_hex(upper_digits(hex)), sig);
  EXPECT_EQ(parse_signature_hex(hex.substr(0, 131)), std::nullopt);  // truncated (odd)
  EXPECT_EQ(parse_signature_hex(hex.substr(0, 130)), std::nullopt);  // truncated (64 bytes)
  EXPECT_EQ(parse_signature_hex(hex + "0"), std::nullopt);
  EXPECT_EQ(parse_signature_hex(hex + "00"), std::nullopt);
  EXPECT_EQ(parse_signature_hex(hex.substr(2)), std::nullopt);
  std::string bad = hex;
  bad[50] = 'z';
  EXPECT_EQ(parse_signature_hex(bad), std::nullopt);
}

}  // namespace
}  // namespace oemlink::crypto
