#include "core/common/aead.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <array>
#include <string>
#include <vector>

namespace oemlink {
namespace {

DataKey key_of(uint8_t seed) {
  DataKey k{};
  for (size_t i = 0; i < k.size(); ++i) k[i] = static_cast<uint8_t>(seed * 31 + i * 7 + 1);
  return k;
}

TEST(Aead, RoundTripsValuesOfAnyShape) {
  const DataKey key = key_of(1);
  std::string big(64 * 1024, 'x');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 13);
  for (std::string plain : {std::string(), std::string("t"), std::string("a\0b\0c", 5), big}) {
    std::vector<uint8_t> sealed = aead::seal(key, plain, std::string_view("car-1\0refresh", 13));
    std::string out = "stale";
    ASSERT_TRUE(aead::open(key, sealed, std::string_view("car-1\0refresh", 13), out));
    EXPECT_EQ(out, plain);
  }
}

TEST(Aead, OpenExactDecryptsIntoTheCallersMemoryOnlyAtTheRightSize) {
  const DataKey key = key_of(3);
  const DataKey secret = key_of(4);
  const std::vector<uint8_t> sealed = aead::seal(
      key, std::string_view(reinterpret_cast<const char*>(secret.data()), secret.size()), "ad");
  DataKey out{};
  ASSERT_TRUE(aead::open_exact(key, sealed, "ad", out));
  EXPECT_EQ(out, secret);

  std::array<uint8_t, 31> short_out{};
  short_out.fill(0xaa);
  EXPECT_FALSE(aead::open_exact(key, sealed, "ad", short_out));
  EXPECT_EQ(short_out, (std::array<uint8_t, 31>{}));
  out.fill(0xaa);
  EXPECT_FALSE(aead::open_exact(key, sealed, "other ad", out));
  EXPECT_EQ(out, DataKey{});
  EXPECT_FALSE(aead::open_exact(key_of(5), sealed, "ad", out));
  EXPECT_EQ(out, DataKey{});
}

TEST(Aead, FormatIsVersionNonceCiphertextTag) {
  const DataKey key = key_of(2);
  std::vector<uint8_t> sealed = aead::seal(key, "hello", "ad");
  ASSERT_EQ(sealed.size(), 1 + 12 + 5 + 16);
  EXPECT_EQ(sealed[0], 1);

  // Decrypt independently with raw EVP: the version byte, then the caller's AD, are the AAD.
  const uint8_t* nonce = sealed.data() + 1;
  const uint8_t* ct = nonce + 12;
  std::vector<uint8_t> tag(ct + 5, ct + 5 + 16);
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  ASSERT_EQ(EVP_DecryptInit_ex2(ctx, EVP_aes_256_gcm(), key.data(), nonce, nullptr), 1);
  int len = 0;
  const uint8_t aad[] = {1, 'a', 'd'};
  ASSERT_EQ(EVP_DecryptUpdate(ctx, nullptr, &len, aad, sizeof aad), 1);
  uint8_t out[5];
  ASSERT_EQ(EVP_DecryptUpdate(ctx, out, &len, ct, 5), 1);
  ASSERT_EQ(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, tag.data()), 1);
  int fin = 0;
  EXPECT_EQ(EVP_DecryptFinal_ex(ctx, out + len, &fin), 1);
  EVP_CIPHER_CTX_free(ctx);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(out), 5), "hello");
}

TEST(Aead, EachSealUsesAFreshNonce) {
  const DataKey key = key_of(3);
  std::vector<uint8_t> a = aead::seal(key, "same", "ad");
  std::vector<uint8_t> b = aead::seal(key, "same", "ad");
  EXPECT_NE(std::vector<uint8_t>(a.begin() + 1, a.begin() + 13),
            std::vector<uint8_t>(b.begin() + 1, b.begin() + 13));
  EXPECT_NE(a, b);
}

TEST(Aead, WrongKeyOrAssociatedDataFails) {
  std::vector<uint8_t> sealed = aead::seal(key_of(4), "secret", std::string_view("c\0k", 3));
  std::string out;
  EXPECT_FALSE(aead::open(key_of(5), sealed, std::string_view("c\0k", 3), out));
  EXPECT_TRUE(out.empty());
  EXPECT_FALSE(aead::open(key_of(4), sealed, std::string_view("c\0K", 3), out));
  EXPECT_FALSE(aead::open(key_of(4), sealed, "", out));
  EXPECT_TRUE(out.empty());
}

TEST(Aead, AnyFlippedBitFails) {
  const DataKey key = key_of(6);
  const std::vector<uint8_t> sealed = aead::seal(key, "refresh-token-value", "ad");
  for (size_t byte = 0; byte < sealed.size(); ++byte) {
    for (int bit = 0; bit < 8; ++bit) {
      std::vector<uint8_t> bad = sealed;
      bad[byte] ^= static_cast<uint8_t>(1u << bit);
      std::string out;
      EXPECT_FALSE(aead::open(key, bad, "ad", out)) << "byte " << byte << " bit " << bit;
      EXPECT_TRUE(out.empty());
    }
  }
}

TEST(Aead, TruncatedOrExtendedFails) {
  const DataKey key = key_of(7);
  const std::vector<uint8_t> sealed = aead::seal(key, "value", "ad");
  std::string out;
  for (size_t n = 0; n < sealed.size(); ++n) {
    std::vector<uint8_t> cut(sealed.begin(), sealed.begin() + static_cast<ptrdiff_t>(n));
    EXPECT_FALSE(aead::open(key, cut, "ad", out)) << n;
  }
  std::vector<uint8_t> longer = sealed;
  longer.push_back(0);
  EXPECT_FALSE(aead::open(key, longer, "ad", out));
}

}  // namespace
}  // namespace oemlink
