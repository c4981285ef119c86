#include "core/common/hex.hpp"

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

namespace oemlink {
namespace {

TEST(Hex, EncodesLowercaseTwoDigitsPerByte) {
  const std::vector<uint8_t> bytes = {0x00, 0x0f, 0xa0, 0xff, 0x5c};
  EXPECT_EQ(to_hex(bytes), "000fa0ff5c");
  std::string out = "0x";
  append_hex(out, bytes);
  EXPECT_EQ(out, "0x000fa0ff5c");
  EXPECT_EQ(to_hex({}), "");
}

TEST(Hex, DecodesEitherCaseAndExactLengthOnly) {
  std::array<uint8_t, 3> out{};
  ASSERT_TRUE(decode_hex("aBcD0f", out));
  EXPECT_EQ(out, (std::array<uint8_t, 3>{0xab, 0xcd, 0x0f}));
  EXPECT_FALSE(decode_hex("abcd0", out));
  EXPECT_FALSE(decode_hex("abcd0f00", out));
  EXPECT_FALSE(decode_hex("abcd0g", out));
  EXPECT_FALSE(decode_hex("0xabcd", out));
  EXPECT_EQ(hex_digit_value('7'), 7);
  EXPECT_EQ(hex_digit_value('F'), 15);
  EXPECT_EQ(hex_digit_value('g'), -1);
}

TEST(Hex, RoundTripsEveryByte) {
  std::vector<uint8_t> all(256);
  for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<uint8_t>(i);
  std::vector<uint8_t> back(256);
  ASSERT_TRUE(decode_hex(to_hex(all), back));
  EXPECT_EQ(back, all);
}

constexpr const char* kSecretHex =
    "00112233445566778899AaBbCcDdEeFf0f1e2d3c4b5a69788796a5b4c3d2e1f0";

TEST(HexSecret, AcceptsOneTrailingLineEnding) {
  std::array<uint8_t, 32> out{};
  std::string why;
  for (const std::string& text : {std::string(kSecretHex), std::string(kSecretHex) + "\n",
                                  std::string(kSecretHex) + "\r\n"}) {
    out.fill(0);
    ASSERT_TRUE(decode_hex_secret(text, out, why)) << why;
    EXPECT_EQ(out[0], 0x00);
    EXPECT_EQ(out[10], 0xaa);
    EXPECT_EQ(out[31], 0xf0);
  }
  EXPECT_FALSE(decode_hex_secret(std::string(kSecretHex) + "\n\n", out, why));
  EXPECT_FALSE(decode_hex_secret(std::string(kSecretHex) + " ", out, why));
}

TEST(HexSecret, SaysWhatIsWrongWithoutEchoingAndWipes) {
  std::array<uint8_t, 32> out{};
  std::string why;
  const std::string full = kSecretHex;
  EXPECT_FALSE(decode_hex_secret(full.substr(0, 63), out, why));
  EXPECT_EQ(why, "must be exactly 64 hex characters (32 bytes); it has 63 characters");

  std::string bad = full;
  bad[40] = 'g';
  out.fill(0x55);
  EXPECT_FALSE(decode_hex_secret(bad, out, why));
  EXPECT_EQ(why, "must be 64 hex characters; character 41 is not a hex digit");
  EXPECT_EQ(why.find(bad.substr(34, 12)), std::string::npos);
  EXPECT_EQ(out, (std::array<uint8_t, 32>{})) << "a half-decoded secret must not be left behind";
}

}  // namespace
}  // namespace oemlink
