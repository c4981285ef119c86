// Vectors: "", "abc" and the ERC-20 selector are public Ethereum facts; the others were computed
// with an independent pure-Python Keccak that was first checked against hashlib.sha3_256 (same
// permutation, padding 0x06) on every length 0..299.
#include "core/crypto/keccak.hpp"

#include "tests/crypto/test_hex.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace oemlink::crypto {
namespace {

using test::to_hex;

std::vector<uint8_t> pattern(size_t n) {  // byte i = i*7+3
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(i * 7 + 3);
  return v;
}

TEST(Keccak256, Empty) {
  EXPECT_EQ(to_hex(keccak256(std::string_view{})),
            "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
}

TEST(Keccak256, Abc) {
  EXPECT_EQ(to_hex(keccak256("abc")),
            "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45");
}

TEST(Keccak256, Erc20TransferSelector) {
  EXPECT_EQ(to_hex(keccak256("transfer(address,uint256)")),
            "a9059cbb2ab09eb219583f4a59a5d0623ade346d962bcd4e46b11da047c9049b");
}

TEST(Keccak256, RateBoundary) {
  // 135: padding 0x01 and 0x80 share the last byte; 136: a whole padding block; 137: spill.
  EXPECT_EQ(to_hex(keccak256(std::string(135, 'a'))),
            "34367dc248bbd832f4e3e69dfaac2f92638bd0bbd18f2912ba4ef454919cf446");
  EXPECT_EQ(to_hex(keccak256(std::string(136, 'a'))),
            "a6c4d403279fe3e0af03729caada8374b5ca54d8065329a3ebcaeb4b60aa386e");
  EXPECT_EQ(to_hex(keccak256(std::string(137, 'a'))),
            "d869f639c7046b4929fc92a4d988a8b22c55fbadb802c0c66ebcd484f1915f39");
  EXPECT_EQ(to_hex(keccak256(pattern(135))),
            "00ef96af9cf4b24c7f269d922294444a197d0a33638c2e56634c57e892103a8f");
  EXPECT_EQ(to_hex(keccak256(pattern(136))),
            "742061bcad767ed4c4f5883b1dcb1aad11afdcc140dc469d953759b127b9f9ed");
  EXPECT_EQ(to_hex(keccak256(pattern(137))),
            "e3371f61e770abf254c34239c3b0099ad90594507415bc81dd0a10b9692bbf2a");
  EXPECT_EQ(to_hex(keccak256(pattern(272))),
            "ac141fd7b0a0ffcd2e967254d508da3ec616596493c36fa304425647d90e6de5");
}

TEST(Keccak256, TwoHundredBytes) {
  std::vector<uint8_t> seq(200);
  for (size_t i = 0; i < seq.size(); ++i) seq[i] = static_cast<uint8_t>(i);
  EXPECT_EQ(to_hex(keccak256(seq)),
            "bfb0aa97863e797943cf7c33bb7e880bb4543f3d2703c0923c6901c2af57b890");
  EXPECT_EQ(to_hex(keccak256(pattern(200))),
            "66d2cdf3ab4c5bd3c75add9b60b14ac5b7789534fa2da3f348853b847359a3a0");
}

TEST(Keccak256, TwoKiBEventSizedPayload) {
  EXPECT_EQ(to_hex(keccak256(pattern(2048))),
            "518458c744f1592c5ee799c56c0e6bc79852bfa39b11a3a116fd137f5637374b");
}

TEST(Keccak256, IncrementalMatchesOneShotForEverySplit) {
  const auto data = pattern(300);
  std::mt19937 rng(7);
  for (size_t len : {0u, 1u, 135u, 136u, 137u, 272u, 300u}) {
    const std::span<const uint8_t> msg(data.data(), len);
    const Hash32 expect = keccak256(msg);
    for (int trial = 0; trial < 50; ++trial) {
      Keccak256 h;
      size_t pos = 0;
      while (pos < len) {
        const size_t take = std::min<size_t>(len - pos, rng() % 150);
        h.update(msg.subspan(pos, take));
        pos += take;
      }
      ASSERT_EQ(h.finalize(), expect) << "len " << len;
    }
  }
}

TEST(Keccak256, FinalizeResets) {
  Keccak256 h;
  h.update(pattern(10));
  (void)h.finalize();
  h.update({reinterpret_cast<const uint8_t*>("abc"), 3});
  EXPECT_EQ(h.finalize(), keccak256("abc"));
}

TEST(Eip191, KnownHashes) {
  // ethers.hashMessage("Hello World") and web3.eth.accounts.hashMessage("Some data").
  EXPECT_EQ(to_hex(eip191_hash({reinterpret_cast<const uint8_t*>("Hello World"), 11})),
            "a1de988600a42c4b4ab089b619297c17d53cffae5d5120d82d8a92d0bb3b78f2");
  EXPECT_EQ(to_hex(eip191_hash({reinterpret_cast<const uint8_t*>("Some data"), 9})),
            "1da44b586eb0729ff70a73c326926f6ed5a25f5b056e7f47fbc6e58d86871655");
}

}  // namespace
}  // namespace oemlink::crypto
