// MetricsRegistry on prometheus-cpp: find-or-create, labels, the naming rules it enforces,
// histograms, scrape-time collectors, the text exposition parsed back, and the flat snapshot.
#include "core/common/metrics.hpp"
#include "core/common/process_metrics.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

namespace oemlink {
namespace {

using ::testing::HasSubstr;

// The exposition's sample lines as metric_key → value, with the # HELP / # TYPE lines aside.
struct ParsedExposition {
  std::map<std::string, double> samples;
  std::map<std::string, std::string> types;  // family → counter|gauge|histogram
  std::map<std::string, std::string> helps;
};

ParsedExposition parse(const std::string& text) {
  ParsedExposition out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    if (line.rfind("# TYPE ", 0) == 0) {
      std::istringstream l(line.substr(7));
      std::string name, type;
      l >> name >> type;
      out.types[name] = type;
      continue;
    }
    if (line.rfind("# HELP ", 0) == 0) {
      size_t sp = line.find(' ', 7);
      out.helps[line.substr(7, sp - 7)] = line.substr(sp + 1);
      continue;
    }
    size_t sp = line.rfind(' ');
    EXPECT_NE(sp, std::string::npos) << line;
    auto key = parse_metric_key(line.substr(0, sp));
    EXPECT_TRUE(key) << line;
    if (!key) continue;
    out.samples[metric_key(key->name, key->labels)] = std::stod(line.substr(sp + 1));
  }
  return out;
}

TEST(MetricKey, WritesPrometheusSeriesAndParsesThemBack) {
  EXPECT_EQ(metric_key("oemlink_x_total", {}), "oemlink_x_total");
  EXPECT_EQ(metric_key("oemlink_x_total", {{"sink", "dimo"}, {"driver", "a"}}),
            R"(oemlink_x_total{driver="a",sink="dimo"})");
  MetricLabels odd{{"name", "a \"quoted\" \\ back\nslash, with=equals"}, {"z", ""}};
  std::string key = metric_key("oemlink_y", odd);
  auto parsed = parse_metric_key(key);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->name, "oemlink_y");
  EXPECT_EQ(parsed->labels, odd);
  for (const char* bad : {"", "{a=\"b\"}", "x{a=\"b\"", "x{a=b}", "x{a=\"b}", "x{a=\"b\"c=\"d\"}"})
    EXPECT_FALSE(parse_metric_key(bad)) << bad;
}

TEST(MetricsRegistry, FindsOrCreatesEachSeriesOnce) {
  MetricsRegistry m;
  Counter& a = m.counter("oemlink_polls_total", "Polls", {{"driver", "a"}, {"outcome", "ok"}});
  Counter& again =
      m.counter("oemlink_polls_total", "ignored", {{"outcome", "ok"}, {"driver", "a"}});
  Counter& b = m.counter("oemlink_polls_total", "Polls", {{"driver", "b"}, {"outcome", "ok"}});
  EXPECT_EQ(&a, &again);
  EXPECT_NE(&a, &b);
  a.add();
  again.add(4);
  b.add(2);
  EXPECT_EQ(a.value(), 5u);
  EXPECT_EQ(m.total("oemlink_polls_total"), 7.0);
  EXPECT_EQ(m.total("oemlink_polls_total", {{"driver", "b"}}), 2.0);
  EXPECT_EQ(m.total("oemlink_polls_total", {{"driver", "c"}}), 0.0);
  EXPECT_EQ(m.total("oemlink_polls"), 0.0);  // a name's prefix is another name
  EXPECT_EQ(m.total("oemlink_absent_total"), 0.0);

  Gauge& g = m.gauge("oemlink_outbox_events", "Events");
  g.set(10);
  g.add(-3);
  EXPECT_EQ(m.gauge("oemlink_outbox_events", "").value(), 7.0);
  EXPECT_EQ(m.total("oemlink_outbox_events"), 7.0);
}

TEST(MetricsRegistry, IncrementsFromManyThreadsLoseNothing) {
  MetricsRegistry m;
  constexpr int kThreads = 4, kAdds = 50'000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&m, t] {
      // Each thread finds the shared series itself, and one of its own.
      Counter& shared = m.counter("oemlink_shared_total", "shared");
      Counter& own = m.counter("oemlink_own_total", "own", {{"driver", std::to_string(t)}});
      for (int i = 0; i < kAdds; ++i) {
        shared.add();
        own.add();
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(m.total("oemlink_shared_total"), double(kThreads) * kAdds);
  EXPECT_EQ(m.total("oemlink_own_total"), double(kThreads) * kAdds);
  EXPECT_EQ(m.total("oemlink_own_total", {{"driver", "2"}}), double(kAdds));
}

TEST(MetricsRegistry, EnforcesTheNamingConventions) {
  MetricsRegistry m;
  auto refusal = [](auto&& f) {
    try {
      f();
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("(accepted)");
  };
  EXPECT_THAT(refusal([&] { m.counter("polls_total", ""); }),
              HasSubstr("metric polls_total: a name starts with oemlink_"));
  EXPECT_THAT(refusal([&] { m.counter("oemlink_polls", ""); }),
              HasSubstr("a counter's name ends in _total"));
  EXPECT_THAT(refusal([&] { m.gauge("oemlink_depth_total", ""); }),
              HasSubstr("only a counter's name ends in _total"));
  EXPECT_THAT(refusal([&] { m.counter("oemlink_Polls_total", ""); }), HasSubstr("lower-case"));
  for (const char* label : {"connection", "vin", "vehicle", "vehicle_id", "connection_id"})
    EXPECT_THAT(refusal([&] {
                  m.counter("oemlink_polls_total", "", {{label, "x"}});
                }),
                HasSubstr("would make a series per car"))
        << label;
  EXPECT_THAT(refusal([&] {
                m.counter("oemlink_polls_total", "", {{"Bad-Label", "x"}});
              }),
              HasSubstr("bad label name 'Bad-Label'"));
  EXPECT_THAT(refusal([&] {
                m.counter("oemlink_polls_total", "", {{"__name__", "x"}});
              }),
              HasSubstr("bad label name"));
  m.counter("oemlink_kind_total", "");
  m.gauge("oemlink_kind", "");
  m.histogram("oemlink_kind_seconds", "", {1, 2});
  EXPECT_THAT(refusal([&] { m.histogram("oemlink_kind", "", {1}); }),
              HasSubstr("already a gauge, asked for as a histogram"));
  EXPECT_THAT(refusal([&] { m.gauge("oemlink_kind_seconds", ""); }),
              HasSubstr("already a histogram, asked for as a gauge"));
  EXPECT_THAT(refusal([&] {
                m.histogram("oemlink_h_seconds", "", {2, 1});
              }),
              HasSubstr("ascending bucket bounds"));
  EXPECT_THAT(refusal([&] {
                m.histogram("oemlink_h_seconds", "", {1}, {{"le", "1"}});
              }),
              HasSubstr("'le' is the histogram's own label"));
  EXPECT_EQ(refusal([&] { m.counter("process_cpu_seconds_total", ""); }), "(accepted)");
  // Nothing refused was registered half way.
  EXPECT_THAT(m.exposition(), ::testing::Not(HasSubstr("polls")));
}

TEST(MetricsRegistry, ExpositionParsesBackWithTypesHelpAndHistogramBuckets) {
  MetricsRegistry m;
  m.counter("oemlink_polls_total", "Polls completed", {{"driver", "mock"}, {"outcome", "ok"}})
      .add(3);
  m.gauge("oemlink_outbox_bytes", "Stored size").set(4096);
  Histogram& h =
      m.histogram("oemlink_poll_duration_seconds", "Poll time", {0.1, 1, 10}, {{"driver", "mock"}});
  for (double v : {0.05, 0.1, 0.5, 2.0, 20.0}) h.observe(v);
  // The first caller's buckets apply to every series of the family.
  m.histogram("oemlink_poll_duration_seconds", "", {5}, {{"driver", "other"}}).observe(0.2);

  ParsedExposition p = parse(m.exposition());
  EXPECT_EQ(p.types["oemlink_polls_total"], "counter");
  EXPECT_EQ(p.types["oemlink_outbox_bytes"], "gauge");
  EXPECT_EQ(p.types["oemlink_poll_duration_seconds"], "histogram");
  EXPECT_EQ(p.helps["oemlink_polls_total"], "Polls completed");
  EXPECT_EQ(p.samples[R"(oemlink_polls_total{driver="mock",outcome="ok"})"], 3);
  EXPECT_EQ(p.samples["oemlink_outbox_bytes"], 4096);
  auto bucket = [&](const char* driver, const char* le) {
    return p.samples.at(
        metric_key("oemlink_poll_duration_seconds_bucket", {{"driver", driver}, {"le", le}}));
  };
  EXPECT_EQ(bucket("mock", "0.1"), 2);  // 0.05 and 0.1: upper bounds are inclusive
  EXPECT_EQ(bucket("mock", "1"), 3);
  EXPECT_EQ(bucket("mock", "10"), 4);
  EXPECT_EQ(bucket("mock", "+Inf"), 5);
  EXPECT_EQ(bucket("other", "1"), 1);
  EXPECT_FALSE(p.samples.count(R"(oemlink_poll_duration_seconds_bucket{driver="other",le="5"})"));
  EXPECT_EQ(p.samples[R"(oemlink_poll_duration_seconds_count{driver="mock"})"], 5);
  EXPECT_DOUBLE_EQ(p.samples[R"(oemlink_poll_duration_seconds_sum{driver="mock"})"], 22.65);
}

TEST(MetricsRegistry, CollectorsRunAtEachScrapeUntilTheirRegistrationEnds) {
  MetricsRegistry m;
  Gauge& depth = m.gauge("oemlink_outbox_events", "Events");
  Counter& mirrored = m.counter("oemlink_outbox_appended_total", "Appended");
  int runs = 0;
  double source = 5, appended = 10;
  {
    CollectorRegistration r = m.add_collector([&] {
      ++runs;
      depth.set(source);
      mirrored.raise_to(appended);
    });
    EXPECT_THAT(m.exposition(), HasSubstr("oemlink_outbox_events 5\n"));
    source = 7;
    appended = 9;  // a smaller source value never lowers a counter
    auto snap = m.snapshot();
    EXPECT_EQ(runs, 2);
    EXPECT_THAT(snap,
                ::testing::Contains(std::pair<std::string, double>("oemlink_outbox_events", 7)));
    EXPECT_THAT(snap, ::testing::Contains(
                          std::pair<std::string, double>("oemlink_outbox_appended_total", 10)));
    CollectorRegistration moved = std::move(r);
    m.exposition();
    EXPECT_EQ(runs, 3);
  }
  source = 100;
  m.exposition();
  EXPECT_EQ(runs, 3);  // unregistered with its handle
  EXPECT_EQ(depth.value(), 7);
}

TEST(MetricsRegistry, SnapshotIsSortedAndFlattensHistograms) {
  MetricsRegistry m;
  m.counter("oemlink_b_total", "b", {{"sink", "dimo"}}).add(2);
  m.counter("oemlink_a_total", "a").add(1);
  m.histogram("oemlink_c_seconds", "c", {1}, {{"sink", "dimo"}}).observe(0.5);
  auto snap = m.snapshot();
  std::vector<std::pair<std::string, double>> expected = {
      {"oemlink_a_total", 1},
      {R"(oemlink_b_total{sink="dimo"})", 2},
      {R"(oemlink_c_seconds_count{sink="dimo"})", 1},
      {R"(oemlink_c_seconds_sum{sink="dimo"})", 0.5}};
  EXPECT_EQ(snap, expected);
}

TEST(ProcessMetrics, ParsesProcStatWhateverTheCommandHolds) {
  // Field 2 may hold spaces and parentheses; utime 14, stime 15, starttime 22, vsize 23, rss 24.
  std::string stat =
      "4242 (odd ) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 150 0 0 20 0 3 0 5000 "
      "104857600 2560 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n";
  auto p = parse_proc_stat(stat, 100, 4096, 1'700'000'000);
  ASSERT_TRUE(p);
  EXPECT_DOUBLE_EQ(p->cpu_seconds, 4.0);
  EXPECT_DOUBLE_EQ(p->start_time_seconds, 1'700'000'050.0);
  EXPECT_DOUBLE_EQ(p->virtual_bytes, 104857600.0);
  EXPECT_DOUBLE_EQ(p->resident_bytes, 2560.0 * 4096);
  EXPECT_FALSE(parse_proc_stat("4242 (x) S 1 2 3", 100, 4096, 0));
  EXPECT_FALSE(parse_proc_stat("no parenthesis", 100, 4096, 0));
  EXPECT_FALSE(parse_proc_stat(stat, 0, 4096, 0));
}

TEST(ProcessMetrics, ReportsThisProcess) {
  MetricsRegistry m;
  CollectorRegistration r = register_process_metrics(m);
  ParsedExposition p = parse(m.exposition());
  EXPECT_EQ(p.types["process_cpu_seconds_total"], "counter");
  EXPECT_GT(p.samples["process_resident_memory_bytes"], 1 << 20);
  EXPECT_GE(p.samples["process_virtual_memory_bytes"], p.samples["process_resident_memory_bytes"]);
  EXPECT_GE(p.samples["process_open_fds"], 3);  // stdin, stdout, stderr at least
  EXPECT_GE(p.samples["process_max_fds"], p.samples["process_open_fds"]);
  double now = static_cast<double>(std::time(nullptr));
  EXPECT_LE(p.samples["process_start_time_seconds"], now + 1);
  EXPECT_GT(p.samples["process_start_time_seconds"], now - 3600);  // this test started lately
}

}  // namespace
}  // namespace oemlink
