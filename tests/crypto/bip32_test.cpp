#include "core/crypto/bip32.hpp"

#include "core/crypto/detail.hpp"
#include "tests/crypto/test_hex.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace oemlink::crypto {
namespace {

using test::from_hex;
using test::to_hex;

const std::vector<uint8_t> kDimoSeed =
    from_hex("cabaabd8c7c7d27347349e48fb11319bc6656cb6cc1bdc717e94dae8db7e6bc2");

TEST(Bip32, DimoSpecAddresses) {
  // dimo-wire.md section 3 (tesla-oracle's unit tests); exact EIP-55 case.
  const char* want[] = {"0x8FF5F4f700242E43EC40ebAee93f390C7aD84aeD",
                        "0x5003F9E08AEE2398945915efE85cd70f3e2F151b",
                        "0xDf619BDB04Ecf7bB80Be8824d94032020406E113"};
  for (uint32_t child = 0; child < 3; ++child) {
    PrivateKey key = derive_hardened_child(kDimoSeed, child);
    EXPECT_EQ(to_checksum_address(address_of(key)), want[child]) << "child " << child;
    secure_wipe(key.data(), key.size());
  }
}

TEST(Bip32, TestVector1Master) {
  std::array<uint8_t, 64> master;
  detail::bip32_master(master, from_hex("000102030405060708090a0b0c0d0e0f"));
  EXPECT_EQ(to_hex(std::span(master).first(32)),
            "e8f32e723decf4051aefac8e2c93c9c5b214313817cdb01a1494b917c8436b35");
  EXPECT_EQ(to_hex(std::span(master).last(32)),
            "873dff81c02f525623fd1fe5167eac3a55a049de3d314bb42ee227ffed37d508");
}

TEST(Bip32, TestVector1HardenedChild) {
  // BIP-32 test vector 1: m/0'.
  const auto seed = from_hex("000102030405060708090a0b0c0d0e0f");
  EXPECT_EQ(to_hex(derive_hardened_child(seed, 0)),
            "edb2e14f9ee77d26dd93b4ecede8d16ed408ce149b6cd80b0715a2d911a0afea");
}

TEST(Bip32, MaxChildAndDistinctChildren) {
  const PrivateKey a = derive_hardened_child(kDimoSeed, 0x7fffffff);
  const PrivateKey b = derive_hardened_child(kDimoSeed, 0x7ffffffe);
  EXPECT_TRUE(is_valid_private_key(a));
  EXPECT_NE(a, b);
  EXPECT_EQ(derive_hardened_child(kDimoSeed, 0x7fffffff), a);
}

TEST(Bip32, SeedSizes) {
  EXPECT_NO_THROW((void)derive_hardened_child(std::vector<uint8_t>(16, 1), 0));
  EXPECT_NO_THROW((void)derive_hardened_child(std::vector<uint8_t>(64, 1), 0));
}

TEST(Bip32Death, ContractViolationsAbort) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH((void)derive_hardened_child(kDimoSeed, 0x80000000u), "child must be < 2\\^31");
  EXPECT_DEATH((void)derive_hardened_child(std::vector<uint8_t>(15, 1), 0), "16..64");
  EXPECT_DEATH((void)derive_hardened_child(std::vector<uint8_t>(65, 1), 0), "16..64");
}

TEST(SecureWipe, Zeroes) {
  std::array<uint8_t, 40> buf;
  buf.fill(0xa5);
  secure_wipe(buf.data(), buf.size());
  for (uint8_t b : buf) EXPECT_EQ(b, 0);
  secure_wipe(nullptr, 0);
}

}  // namespace
}  // namespace oemlink::crypto
