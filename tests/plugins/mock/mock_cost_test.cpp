// What a poll costs and what a connection weighs: the mock stands in for a million cars in
// load tests, so both must stay small. The bounds are loose enough for Debug and sanitizer
// builds; the printed figures are the point.
#include "tests/plugins/mock/mock_fixture.hpp"

#include <gtest/gtest.h>

#include <malloc.h>

#include <chrono>
#include <cstdio>

namespace oemlink::test {
namespace {

TEST(MockCost, PollTakesMicroseconds) {
  OneCar car;
  car.host().record_emits = false;
  constexpr int kPolls = 200'000;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kPolls; ++i) {
    car.host().now_ms += 30'000;
    car.poll();
  }
  const double ns_per_poll =
      std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count() /
      kPolls;
  std::printf("mock poll: %.0f ns (16 readings + emit, fake host, incl. harness)\n", ns_per_poll);
  EXPECT_EQ(car.host().emit_calls, static_cast<uint64_t>(kPolls));
  EXPECT_LT(ns_per_poll, 50'000);
}

TEST(MockCost, ConnectionsAreSmall) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "AddressSanitizer's allocator does not report through mallinfo2";
#endif
  DriverUnderTest d(mock_descriptor(), "{}");
  constexpr int kConns = 20'000;
  const size_t before = mallinfo2().uordblks;
  for (int i = 0; i < kConns; ++i) d.open("car-" + std::to_string(i));
  const double bytes = static_cast<double>(mallinfo2().uordblks - before) / kConns;
  // Includes the harness's own bookkeeping per connection (~24 bytes).
  std::printf("mock connection: %.0f heap bytes each\n", bytes);
  EXPECT_LT(bytes, 240);
}

}  // namespace
}  // namespace oemlink::test
