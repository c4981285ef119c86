// DriverCounters: what drivers count through counter_add, labelled by driver instance, with a cap
// on distinct names per driver so no driver can make the metrics unbounded.
#include "core/host/driver_counters.hpp"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace oemlink::host {
namespace {

constexpr const char* kEvents = "oemlink_driver_events_total";
constexpr const char* kRefused = "oemlink_driver_events_refused_total";

TEST(DriverCounters, CountsByDriverInstanceAndName) {
  MetricsRegistry m;
  DriverCounters counters(m);
  counters.add("tesla-eu", "token_refreshes", 2);
  counters.add("tesla-eu", "token_refreshes", 3);
  counters.add("tesla-us", "token_refreshes", 1);
  EXPECT_EQ(m.total(kEvents, {{"driver", "tesla-eu"}, {"name", "token_refreshes"}}), 5.0);
  EXPECT_EQ(m.total(kEvents, {{"name", "token_refreshes"}}), 6.0);
  EXPECT_EQ(m.total(kRefused), 0.0);
}

TEST(DriverCounters, CapsDistinctNamesPerDriverAndCountsTheRestAsRefused) {
  MetricsRegistry m;
  DriverCounters counters(m, 3);
  for (int i = 0; i < 10; ++i) counters.add("flood", "per_car_" + std::to_string(i), 1);
  counters.add("flood", "per_car_1", 5);  // a name under the cap keeps counting
  counters.add("calm", "per_car_9", 1);   // the cap is per driver instance
  EXPECT_EQ(m.total(kEvents, {{"driver", "flood"}}), 8.0);
  EXPECT_EQ(m.total(kEvents, {{"driver", "flood"}, {"name", "per_car_1"}}), 6.0);
  EXPECT_EQ(m.total(kEvents, {{"driver", "flood"}, {"name", "per_car_3"}}), 0.0);
  EXPECT_EQ(m.total(kRefused, {{"driver", "flood"}, {"reason", "too_many_names"}}), 7.0);
  EXPECT_EQ(m.total(kEvents, {{"driver", "calm"}}), 1.0);
  // Three names, not ten, reached the exposition.
  std::string text = m.exposition();
  EXPECT_EQ(text.find("per_car_3"), std::string::npos);
  EXPECT_NE(text.find("per_car_2"), std::string::npos);
}

TEST(DriverCounters, RefusesNamesThatAreNotPlainIdentifiers) {
  MetricsRegistry m;
  DriverCounters counters(m);
  for (std::string bad : {std::string(), std::string("Upper"), std::string("a b"),
                          std::string("quote\""), std::string(65, 'a'), std::string("x\0y", 3)})
    counters.add("d", bad, 1);
  counters.add("d", std::string(64, 'a'), 1);
  EXPECT_EQ(m.total(kRefused, {{"driver", "d"}, {"reason", "bad_name"}}), 6.0);
  EXPECT_EQ(m.total(kEvents, {{"driver", "d"}}), 1.0);
}

TEST(DriverCounters, DriverThreadsCountConcurrentlyWithoutLoss) {
  MetricsRegistry m;
  DriverCounters counters(m);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&counters, t] {
      for (int i = 0; i < 20'000; ++i)
        counters.add(t % 2 ? "odd" : "even", "n" + std::to_string(i % 7), 1);
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(m.total(kEvents), 80'000.0);
  EXPECT_EQ(m.total(kEvents, {{"driver", "odd"}}), 40'000.0);
}

}  // namespace
}  // namespace oemlink::host
