#include "core/common/splitmix64.hpp"

#include <gtest/gtest.h>

namespace oemlink {
namespace {

// Reference values of splitmix64 (Vigna's splitmix64.c) from state 0.
TEST(SplitMix64, MatchesTheReferenceSequence) {
  SplitMix64 rng(0);
  EXPECT_EQ(rng.next(), 0xe220a8397b1dcdafULL);
  EXPECT_EQ(rng.next(), 0x6e789e6aa1b965f4ULL);
  EXPECT_EQ(rng.next(), 0x06c45d188009454fULL);
}

TEST(SplitMix64, SameSeedSameSequenceAndUnitStaysInRange) {
  SplitMix64 a(42), b(42), c(43);
  bool differs = false;
  double lo = 1, hi = 0;
  for (int i = 0; i < 10'000; ++i) {
    const uint64_t x = a.next();
    EXPECT_EQ(x, b.next());
    differs |= x != c.next();
    const double u = a.next_unit();
    (void)b.next();
    (void)c.next();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    lo = std::min(lo, u);
    hi = std::max(hi, u);
  }
  EXPECT_TRUE(differs);
  EXPECT_LT(lo, 0.01);
  EXPECT_GT(hi, 0.99);
}

}  // namespace
}  // namespace oemlink
