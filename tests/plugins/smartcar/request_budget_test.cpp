#include "request_budget.hpp"

#include <gtest/gtest.h>

namespace oemlink::smartcar {
namespace {

TEST(SmartcarBudget, CapacityThenRefillTwoPerMinute) {
  int64_t now = 1'000'000;
  RequestBudget b(120, 2, now);
  for (int i = 0; i < 120; ++i) ASSERT_TRUE(b.try_take(now)) << i;
  EXPECT_FALSE(b.try_take(now));
  EXPECT_EQ(b.next_token_at(now), now + 30'000);  // 2/min: one every 30 s
  EXPECT_FALSE(b.try_take(now + 29'999));
  EXPECT_TRUE(b.try_take(now + 30'000));
  EXPECT_FALSE(b.try_take(now + 30'000));
  // An hour later it holds 120 again, never more.
  now += 30'000 + 3'600'000 * 2;
  int taken = 0;
  while (b.try_take(now)) ++taken;
  EXPECT_EQ(taken, 120);
}

TEST(SmartcarBudget, AppWideRateLimitBlocksUntilRetryAfter) {
  int64_t now = 0;
  RequestBudget b(10, 60, now);
  b.block_until(now + 60'000, now);
  EXPECT_FALSE(b.try_take(now + 59'999));
  EXPECT_EQ(b.next_token_at(now), now + 60'000 + 1'000);
  EXPECT_TRUE(b.try_take(now + 61'000));
}

}  // namespace
}  // namespace oemlink::smartcar
