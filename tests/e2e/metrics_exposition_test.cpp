// The metrics of a real run: the daemon's runtime with the mock driver, the durable outbox, a
// file sink and the inbound listener, scraped while it runs. Every family follows the naming
// rules, no label names a car, the figures the issue asks for are there with sane values, and
// `promtool check metrics` (Prometheus's own linter) finds nothing to say.
#include "core/common/metric_key.hpp"
#include "core/config/config_error.hpp"
#include "core/host/runtime.hpp"
#include "tests/net/listener_fixture.hpp"

#include <gtest/gtest.h>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <thread>

namespace oemlink::host {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr int kCars = 5;

struct Scrape {
  std::string text;
  std::map<std::string, double> samples;     // metric_key → value
  std::map<std::string, std::string> types;  // family → type
  std::set<std::string> label_names;
};

Scrape parse(std::string text) {
  Scrape s;
  s.text = std::move(text);
  std::istringstream in(s.text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("# TYPE ", 0) == 0) {
      std::istringstream l(line.substr(7));
      std::string name, type;
      l >> name >> type;
      s.types[name] = type;
    }
    if (line.empty() || line[0] == '#') continue;
    size_t sp = line.rfind(' ');
    auto key = parse_metric_key(line.substr(0, sp));
    if (!key) {
      ADD_FAILURE() << "unparseable sample: " << line;
      continue;
    }
    for (const auto& [k, v] : key->labels) s.label_names.insert(k);
    s.samples[line.substr(0, sp)] = std::stod(line.substr(sp + 1));
  }
  return s;
}

class MetricsExpositionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("oemlink-metrics-" + std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Runs the daemon until `ready` holds (checked on the loop every 20 ms), scrapes, stops.
  Scrape run_and_scrape(const std::function<bool(MetricsRegistry&)>& ready) {
    std::string y = "data_dir: " + dir_.string() +
                    "\nvault: {create_if_missing: true, kek: {file: " + (dir_ / "kek").string() +
                    "}}\nschedule: {shutdown_timeout: 5s}\n"
                    "drivers:\n  - {name: mock, library: mock, poll_interval: 100ms}\n"
                    "sinks:\n  - {name: events, type: file, path: " +
                    (dir_ / "events.jsonl").string() + "}\nconnections:\n";
    for (int i = 1; i <= kCars; ++i)
      y += "  - {id: car-" + std::to_string(i) + ", driver: mock, vin: 5YJ3E1EA7KF" +
           std::to_string(100000 + i) + ", vehicle_token_id: " + std::to_string(i) +
           ", synthetic_token_id: " + std::to_string(1000 + i) +
           ", key_child: " + std::to_string(i) + "}\n";
    config::Config cfg = config::load_config_text(y, "<test>", dir_);
    config::ListenerConfig inbound;
    inbound.port = 0;
    inbound.public_url = "https://hooks.example.com";
    cfg.listeners.inbound = inbound;
    RuntimeOptions o = default_runtime_options();
    o.plugin_dirs = {OEMLINK_PLUGIN_DIR};
    o.handle_signals = false;
    o.stats_interval = 0ms;
    o.duration = 30s;  // a safety net: `ready` ends the run
    Runtime rt(std::move(cfg), o);
    rt.start();
    // One request the listener refuses, so its families carry a non-zero series.
    std::thread client([port = rt.listener_port()] {
      try {
        net::testing::RawClient c(port);
        c.send("GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n");
        c.response();
      } catch (const std::exception& e) {
        ADD_FAILURE() << "the request to the listener failed: " << e.what();
      }
    });
    std::string text;
    boost::asio::steady_timer check(rt.io());
    std::function<void()> poll = [&] {
      if (ready(rt.metrics())) {
        text = rt.metrics().exposition();
        rt.request_stop();
        return;
      }
      check.expires_after(20ms);
      check.async_wait([&](const boost::system::error_code& ec) {
        if (!ec) poll();
      });
    };
    boost::asio::post(rt.io(), poll);
    EXPECT_EQ(rt.run(), 0);
    client.join();
    EXPECT_FALSE(text.empty()) << "the run ended before it was ready to scrape";
    return parse(text);
  }

  fs::path dir_;
};

TEST_F(MetricsExpositionTest, ARealRunExposesEveryFamilyByTheRules) {
  Scrape s = run_and_scrape([](MetricsRegistry& m) {
    return m.total("oemlink_polls_total", {{"outcome", "ok"}}) >= 10 &&
           m.total("oemlink_sink_events_delivered_total") >= 1 &&
           m.total("oemlink_http_requests_total", {{"code", "404"}}) >= 1;
  });
  ASSERT_FALSE(s.types.empty());

  // The rules, on every family and label of the run.
  for (const auto& [family, type] : s.types) {
    EXPECT_TRUE(family.rfind("oemlink_", 0) == 0 || family.rfind("process_", 0) == 0) << family;
    EXPECT_EQ(type == "counter", family.size() > 6 && family.ends_with("_total")) << family;
  }
  for (const std::string& label : s.label_names)
    for (const char* car : {"connection", "vin", "vehicle"})
      EXPECT_EQ(label.find(car), std::string::npos) << "label '" << label << "' names a car";

  auto at = [&](const std::string& key) {
    auto it = s.samples.find(key);
    EXPECT_NE(it, s.samples.end()) << key << " is missing from:\n" << s.text;
    return it == s.samples.end() ? -1.0 : it->second;
  };
  EXPECT_GE(at(R"(oemlink_polls_total{driver="mock",outcome="ok"})"), 10);
  EXPECT_EQ(at(R"(oemlink_polls_total{driver="mock",outcome="error"})"), 0);
  EXPECT_GE(at(R"(oemlink_poll_duration_seconds_count{driver="mock"})"),
            at(R"(oemlink_polls_total{driver="mock",outcome="ok"})"));
  EXPECT_EQ(at(R"(oemlink_poll_duration_seconds_bucket{driver="mock",le="+Inf"})"),
            at(R"(oemlink_poll_duration_seconds_count{driver="mock"})"));
  EXPECT_EQ(at(R"(oemlink_connections{state="active"})"), kCars);
  EXPECT_EQ(at(R"(oemlink_connections{state="paused"})"), 0);
  EXPECT_GE(at("oemlink_pipeline_events_built_total"), 1);
  EXPECT_GE(at("oemlink_pipeline_readings_accepted_total"), 1);
  EXPECT_EQ(at("oemlink_pipeline_readings_rejected_total"), 0);
  EXPECT_EQ(at("oemlink_pipeline_events_backpressured_total"), 0);
  EXPECT_GE(at("oemlink_outbox_appended_total"),
            at(R"(oemlink_sink_events_delivered_total{sink="events"})"));
  EXPECT_GE(at("oemlink_outbox_events"), 0);
  EXPECT_GE(at("oemlink_outbox_bytes"), 0);
  EXPECT_GE(at("oemlink_outbox_oldest_age_seconds"), 0);
  EXPECT_LT(at("oemlink_outbox_oldest_age_seconds"), 30);
  EXPECT_GE(at(R"(oemlink_sink_events_delivered_total{sink="events"})"), 1);
  EXPECT_EQ(at(R"(oemlink_sink_events_dead_lettered_total{sink="events"})"), 0);
  EXPECT_GE(at(R"(oemlink_sink_delivery_latency_seconds_count{sink="events"})"), 1);
  EXPECT_EQ(at(R"(oemlink_http_requests_total{code="404",listener="inbound",route="none"})"), 1);
  EXPECT_EQ(at(R"(oemlink_http_rejected_total{listener="inbound",reason="not_found"})"), 1);
  EXPECT_EQ(at(R"(oemlink_http_rejected_total{listener="inbound",reason="header_timeout"})"), 0);
  EXPECT_GT(at("process_resident_memory_bytes"), 1 << 20);
  EXPECT_GT(at("process_open_fds"), 3);
  EXPECT_GT(at("process_start_time_seconds"), 1.6e9);
  EXPECT_EQ(s.types["process_cpu_seconds_total"], "counter");
  EXPECT_EQ(s.types["oemlink_poll_duration_seconds"], "histogram");
  EXPECT_EQ(s.types["oemlink_connections"], "gauge");

  // Prometheus's own linter on the same text.
  const char* promtool = "/usr/bin/promtool";
  if (!fs::exists(promtool))
    GTEST_SKIP() << "promtool check metrics skipped: /usr/bin/promtool is absent (Debian package "
                    "'prometheus'; tools/install-deps.sh installs it)";
  const fs::path file = dir_ / "metrics.txt";
  std::ofstream(file) << s.text;
  std::string cmd = std::string(promtool) + " check metrics < " + file.string() + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  int status = pclose(p);
  ASSERT_TRUE(WIFEXITED(status)) << out;
  EXPECT_EQ(WEXITSTATUS(status), 0) << "promtool check metrics:\n" << out << "\non:\n" << s.text;
}

}  // namespace
}  // namespace oemlink::host
