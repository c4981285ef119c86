// JsonLinesFileSink: one event per line, size rotation that never overwrites, clear errors.
#include "core/uplink/jsonl_file_sink.hpp"

#include "core/pipeline/event_builder.hpp"

#include <oemlink/driver.hpp>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace oemlink::uplink {
namespace {

using oemlink::Reading;
using pipeline::EnvelopeSettings;
using pipeline::EventBuilder;

constexpr int64_t kNow = 1'741'089'660'000;  // 2025-03-04T12:01:00Z

pipeline::ConnectionIdentity car() {
  return {.id = "car-1",
          .vin = "5YJ3E1EA7KF000001",
          .vehicle_token_id = 42,
          .synthetic_token_id = 7,
          .key_child = 3};
}

TEST(JsonLinesFileSink, WritesOneEventPerLineAndRotatesBySize) {
  auto dir = std::filesystem::temp_directory_path() / ("oemlink-sink-" + std::to_string(getpid()));
  std::filesystem::remove_all(dir);
  MetricsRegistry m;
  config::FileSinkConfig cfg;
  cfg.path = dir / "sub" / "events.jsonl";
  cfg.rotate_bytes = 4096;
  cfg.keep_files = 2;
  EventBuilder b(EnvelopeSettings{});
  oemlink_reading rs[] = {Reading::number("speed", kNow, 10)};
  size_t lines_written = 0;
  {
    JsonLinesFileSink sink("events", cfg, m);
    for (int i = 0; i < 40; ++i) {
      ASSERT_TRUE(sink.append(b.build(car(), rs)));
      ++lines_written;
    }
  }
  EXPECT_TRUE(std::filesystem::exists(cfg.path));
  EXPECT_TRUE(std::filesystem::exists(cfg.path.string() + ".1"));
  EXPECT_FALSE(std::filesystem::exists(cfg.path.string() + ".3"));
  EXPECT_GE(m.counter("sink_events_rotations").value(), 2u);
  std::ifstream in(cfg.path);
  std::string line;
  size_t n = 0;
  while (std::getline(in, line)) {
    auto v = boost::json::parse(line);
    EXPECT_TRUE(v.as_object().contains("data"));
    ++n;
  }
  EXPECT_GT(n, 0u);
  EXPECT_LE(std::filesystem::file_size(cfg.path), 4096u);
  std::filesystem::remove_all(dir);
}

TEST(JsonLinesFileSink, AFailedRotationKeepsAppendingAndOverwritesNothing) {
  auto dir = std::filesystem::temp_directory_path() / ("oemlink-rot-" + std::to_string(getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir / "events.jsonl.1");
  std::ofstream(dir / "events.jsonl.1" / "keep") << "precious";  // rename onto it must fail
  MetricsRegistry m;
  config::FileSinkConfig cfg;
  cfg.path = dir / "events.jsonl";
  cfg.rotate_bytes = 4096;
  cfg.keep_files = 1;
  EventBuilder b(EnvelopeSettings{});
  oemlink_reading rs[] = {Reading::number("speed", kNow, 10)};
  {
    JsonLinesFileSink sink("events", cfg, m);
    for (int i = 0; i < 40; ++i) ASSERT_TRUE(sink.append(b.build(car(), rs))) << i;
  }
  std::ifstream in(cfg.path);
  int lines = 0;
  for (std::string l; std::getline(in, l);) ++lines;
  EXPECT_EQ(lines, 40);
  EXPECT_TRUE(std::filesystem::exists(dir / "events.jsonl.1" / "keep"));
  EXPECT_GE(m.counter("sink_events_write_failures").value(), 1u);
  EXPECT_EQ(m.counter("sink_events_rotations").value(), 0u);
  // Not retried on every write: with 4 KiB more allowed per attempt, a handful of attempts.
  EXPECT_LE(m.counter("sink_events_write_failures").value(), 5u);
  std::filesystem::remove_all(dir);
}

TEST(JsonLinesFileSink, AnUnwritablePathIsAClearError) {
  MetricsRegistry m;
  config::FileSinkConfig cfg;
  cfg.path = "/proc/oemlink-cannot-exist/events.jsonl";
  try {
    JsonLinesFileSink sink("events", cfg, m);
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("/proc/oemlink-cannot-exist/events.jsonl"),
              std::string::npos);
  }
}

}  // namespace
}  // namespace oemlink::uplink
