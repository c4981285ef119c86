#include "core/crypto/secp256k1_signer.hpp"

#include "tests/crypto/test_hex.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <thread>
#include <vector>

namespace oemlink::crypto {
namespace {

using test::arr;
using test::to_hex;

// secp256k1 group order n, big-endian.
constexpr std::array<uint8_t, 32> kOrder = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
    0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41};

// Returns n - x for a 32-byte big-endian x.
std::array<uint8_t, 32> order_minus(const uint8_t* x) {
  std::array<uint8_t, 32> out;
  int borrow = 0;
  for (int i = 31; i >= 0; --i) {
    int d = kOrder[i] - x[i] - borrow;
    borrow = d < 0;
    out[i] = static_cast<uint8_t>(d + (borrow ? 256 : 0));
  }
  return out;
}

bool is_low_s(const Signature65& sig) {
  // Low-s means s <= n/2, i.e. n - s >= s.
  const auto neg = order_minus(sig.data() + 32);
  return std::memcmp(sig.data() + 32, neg.data(), 32) <= 0;
}

// web3.js documentation's example account.
const PrivateKey kWeb3Key =
    arr<32>("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318");

class RandomKeys : public ::testing::Test {
 protected:
  PrivateKey random_key() {
    PrivateKey k;
    do {
      for (auto& b : k) b = static_cast<uint8_t>(rng_());
    } while (!is_valid_private_key(k));
    return k;
  }
  Hash32 random_hash() {
    Hash32 h;
    for (auto& b : h) b = static_cast<uint8_t>(rng_());
    return h;
  }
  std::mt19937_64 rng_{20240611};
};

TEST(Address, KnownEthereumKey) {
  EXPECT_EQ(to_checksum_address(address_of(kWeb3Key)),
            "0x2c7536E3605D9C16a7a3D7b1898e529396a65c23");
}

TEST(SignHash, KnownDeterministicSignature) {
  // web3.eth.accounts.sign("Some data", kWeb3Key): RFC 6979 over the EIP-191 hash.
  const Hash32 h = eip191_hash({reinterpret_cast<const uint8_t*>("Some data"), 9});
  EXPECT_EQ(signature_hex(sign_hash(kWeb3Key, h)),
            "0xb91467e570a6466aa9e9876cbcd013baba02900b8979d43fe208a4a4f339f5fd"
            "6007e74cd82e037b800186422fc2da167c747ef045e5d18a5f5d4300f8e1a0291c");
}

TEST_F(RandomKeys, SignRecoverRoundTrip1000) {
  for (int i = 0; i < 1000; ++i) {
    const PrivateKey key = random_key();
    const Hash32 hash = random_hash();
    const Signature65 sig = sign_hash(key, hash);
    ASSERT_TRUE(sig[64] == 27 || sig[64] == 28) << int(sig[64]);
    ASSERT_TRUE(is_low_s(sig));
    const auto addr = recover_address(hash, sig);
    ASSERT_TRUE(addr.has_value());
    ASSERT_EQ(*addr, address_of(key));
  }
}

TEST_F(RandomKeys, Deterministic) {
  for (int i = 0; i < 20; ++i) {
    const PrivateKey key = random_key();
    const Hash32 hash = random_hash();
    EXPECT_EQ(sign_hash(key, hash), sign_hash(key, hash));
  }
}

TEST_F(RandomKeys, ConcurrentSigningAgrees) {
  const PrivateKey key = random_key();
  const Hash32 hash = random_hash();
  const Signature65 expect = sign_hash(key, hash);
  std::vector<std::thread> threads;
  std::atomic<int> mismatches{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 100; ++i) {
        if (sign_hash(key, hash) != expect) ++mismatches;
        if (recover_address(hash, expect) != address_of(key)) ++mismatches;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(mismatches.load(), 0);
}

TEST_F(RandomKeys, AcceptsRawRecoveryIdV) {
  const PrivateKey key = random_key();
  const Hash32 hash = random_hash();
  Signature65 sig = sign_hash(key, hash);
  sig[64] -= 27;
  EXPECT_EQ(recover_address(hash, sig), address_of(key));
}

TEST_F(RandomKeys, FlippedHashByteRecoversDifferentAddress) {
  const PrivateKey key = random_key();
  Hash32 hash = random_hash();
  const Signature65 sig = sign_hash(key, hash);
  for (size_t i = 0; i < hash.size(); i += 7) {
    Hash32 tampered = hash;
    tampered[i] ^= 0x01;
    const auto addr = recover_address(tampered, sig);
    ASSERT_TRUE(addr.has_value());
    EXPECT_NE(*addr, address_of(key));
  }
}

TEST_F(RandomKeys, RejectsHighS) {
  for (int i = 0; i < 20; ++i) {
    const PrivateKey key = random_key();
    const Hash32 hash = random_hash();
    Signature65 sig = sign_hash(key, hash);
    // (r, n - s) with the other recovery id is the same signature mathematically (the
    // malleable twin); Ethereum refuses it, so must we.
    const auto neg = order_minus(sig.data() + 32);
    std::copy(neg.begin(), neg.end(), sig.begin() + 32);
    sig[64] = sig[64] == 27 ? 28 : 27;
    EXPECT_EQ(recover_address(hash, sig), std::nullopt);
  }
}

TEST_F(RandomKeys, RejectsBadV) {
  const Hash32 hash = random_hash();
  Signature65 sig = sign_hash(random_key(), hash);
  for (uint8_t v : {2, 3, 26, 29, 30, 35, 36, 255}) {
    sig[64] = v;
    EXPECT_EQ(recover_address(hash, sig), std::nullopt) << int(v);
  }
}

TEST_F(RandomKeys, RejectsOutOfRangeRAndS) {
  const Hash32 hash = random_hash();
  const Signature65 good = sign_hash(random_key(), hash);
  auto with = [&](size_t off, const std::array<uint8_t, 32>& v) {
    Signature65 s = good;
    std::copy(v.begin(), v.end(), s.begin() + off);
    return s;
  };
  std::array<uint8_t, 32> zero{}, ones;
  ones.fill(0xff);
  EXPECT_EQ(recover_address(hash, with(0, zero)), std::nullopt) << "r = 0";
  EXPECT_EQ(recover_address(hash, with(32, zero)), std::nullopt) << "s = 0";
  EXPECT_EQ(recover_address(hash, with(0, ones)), std::nullopt) << "r = 2^256-1";
  EXPECT_EQ(recover_address(hash, with(0, kOrder)), std::nullopt) << "r = n";
  EXPECT_EQ(recover_address(hash, with(32, ones)), std::nullopt) << "s = 2^256-1";
}

TEST(ValidKey, Range) {
  PrivateKey k{};
  EXPECT_FALSE(is_valid_private_key(k));
  k = kOrder;
  EXPECT_FALSE(is_valid_private_key(k));
  k[31] -= 1;  // n - 1
  EXPECT_TRUE(is_valid_private_key(k));
  k = {};
  k[31] = 1;
  EXPECT_TRUE(is_valid_private_key(k));
}

TEST(ContractDeath, InvalidKeyAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const PrivateKey zero{};
  EXPECT_DEATH((void)address_of(zero), "invalid private key");
  EXPECT_DEATH((void)sign_hash(zero, Hash32{}), "invalid private key");
}

}  // namespace
}  // namespace oemlink::crypto
