// LogGate: a cap per second, a count of what it dropped (handed to the next line and to the
// oemlink_log_lines_suppressed_total counter), and nothing counted for lines below the logger's
// level.
#include "core/common/rate_limited_log.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/null_sink.h>

namespace oemlink {
namespace {

TEST(LogGate, LetsTheFirstLinesOfEachSecondThroughAndReportsTheDroppedToTheNext) {
  MetricsRegistry metrics;
  LogGate gate(3, metrics);
  uint64_t suppressed = 99;
  int allowed = 0;
  for (int i = 0; i < 10; ++i)
    if (gate.allow(5'000, suppressed)) ++allowed;
  EXPECT_EQ(allowed, 3);
  EXPECT_EQ(metrics.total(kLogLinesSuppressed), 7.0);
  ASSERT_TRUE(gate.allow(6'000, suppressed));
  EXPECT_EQ(suppressed, 7u);
  ASSERT_TRUE(gate.allow(6'001, suppressed));
  EXPECT_EQ(suppressed, 0u);
}

TEST(LogGate, LinesBelowTheLevelAreNeitherLoggedNorCounted) {
  auto previous = spdlog::default_logger();
  auto logger =
      std::make_shared<spdlog::logger>("null", std::make_shared<spdlog::sinks::null_sink_mt>());
  logger->set_level(spdlog::level::warn);
  spdlog::set_default_logger(logger);
  MetricsRegistry metrics;
  Counter& dropped = metrics.counter(kLogLinesSuppressed, kLogLinesSuppressedHelp);
  LogGate gate(1, &dropped);
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(gate.log(1'000, spdlog::level::info, {}, "quiet {}", i));
  EXPECT_EQ(dropped.value(), 0u);
  EXPECT_TRUE(gate.log(1'000, spdlog::level::warn, {}, "loud"));
  EXPECT_FALSE(gate.log(1'000, spdlog::level::warn, {}, "loud"));
  EXPECT_EQ(dropped.value(), 1u);
  spdlog::set_default_logger(previous);
}

}  // namespace
}  // namespace oemlink
