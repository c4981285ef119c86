// JsonLinesFileSink: one event per line, size rotation that never overwrites, clear errors.
#include "core/uplink/jsonl_file_sink.hpp"

#include "core/pipeline/event_builder.hpp"
#include "tests/store/store_test_util.hpp"

#include <oemlink/driver.hpp>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

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
      ASSERT_TRUE(sink.append(b.build(car(), rs, kNow)));
      ++lines_written;
    }
  }
  EXPECT_TRUE(std::filesystem::exists(cfg.path));
  EXPECT_TRUE(std::filesystem::exists(cfg.path.string() + ".1"));
  EXPECT_FALSE(std::filesystem::exists(cfg.path.string() + ".3"));
  EXPECT_GE(m.total("oemlink_file_sink_rotations_total", {{"sink", "events"}}), 2u);
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
    for (int i = 0; i < 40; ++i) ASSERT_TRUE(sink.append(b.build(car(), rs, kNow))) << i;
  }
  std::ifstream in(cfg.path);
  int lines = 0;
  for (std::string l; std::getline(in, l);) ++lines;
  EXPECT_EQ(lines, 40);
  EXPECT_TRUE(std::filesystem::exists(dir / "events.jsonl.1" / "keep"));
  EXPECT_GE(m.total("oemlink_file_sink_write_failures_total", {{"sink", "events"}}), 1u);
  EXPECT_EQ(m.total("oemlink_file_sink_rotations_total", {{"sink", "events"}}), 0u);
  // Not retried on every write: with 4 KiB more allowed per attempt, a handful of attempts.
  EXPECT_LE(m.total("oemlink_file_sink_write_failures_total", {{"sink", "events"}}), 5u);
  std::filesystem::remove_all(dir);
}

// Every sync the sink asks for, with what the descriptor was at that moment.
struct SyncLog {
  struct Call {
    ino_t inode;
    off_t size;
    bool directory;
  };
  std::vector<Call> calls;
  int fail_file_syncs = 0;  // the next this many file syncs fail with EIO
  SyncFunction function() {
    return [this](int fd, bool directory) {
      struct stat st {};
      ::fstat(fd, &st);
      calls.push_back({st.st_ino, st.st_size, directory});
      if (!directory && fail_file_syncs > 0) {
        --fail_file_syncs;
        errno = EIO;
        return -1;
      }
      return sync_fd(fd, directory);
    };
  }
};

TEST(JsonLinesFileSink, RotationSyncsTheOldFileBeforeRenamingAndTheDirectoryAfter) {
  store::testing::TempDir dir;
  MetricsRegistry m;
  config::FileSinkConfig cfg;
  cfg.path = dir.path() / "events.jsonl";
  cfg.rotate_bytes = 4096;
  cfg.keep_files = 100;
  EventBuilder b(EnvelopeSettings{});
  oemlink_reading rs[] = {Reading::number("speed", kNow, 10)};
  SyncLog log;
  {
    JsonLinesFileSink sink("events", cfg, m, log.function());
    for (int i = 0; i < 40; ++i) ASSERT_TRUE(sink.append(b.build(car(), rs, kNow)));
  }
  const uint64_t rotations = m.total("oemlink_file_sink_rotations_total", {{"sink", "events"}});
  ASSERT_GE(rotations, 2u);
  for (uint64_t n = 1; n <= rotations; ++n) {
    const std::string rotated = cfg.path.string() + "." + std::to_string(n);
    struct stat st {};
    ASSERT_EQ(::stat(rotated.c_str(), &st), 0) << rotated;
    bool synced_whole = false;
    for (const auto& c : log.calls)
      synced_whole |= !c.directory && c.inode == st.st_ino && c.size == st.st_size;
    EXPECT_TRUE(synced_whole) << rotated << " was renamed before all its lines were synced";
  }
  size_t dir_syncs = 0;
  for (const auto& c : log.calls) dir_syncs += c.directory;
  // After creating the first file, and after the renames and the new file of each rotation.
  EXPECT_GE(dir_syncs, 1 + 2 * rotations);
}

TEST(JsonLinesFileSink, AnOldFileThatCannotBeSyncedIsNotRotated) {
  store::testing::TempDir dir;
  MetricsRegistry m;
  config::FileSinkConfig cfg;
  cfg.path = dir.path() / "events.jsonl";
  cfg.rotate_bytes = 4096;
  cfg.keep_files = 2;
  EventBuilder b(EnvelopeSettings{});
  oemlink_reading rs[] = {Reading::number("speed", kNow, 10)};
  SyncLog log;
  log.fail_file_syncs = 1;
  JsonLinesFileSink sink("events", cfg, m, log.function());
  size_t n = 0;
  while (sink.sync_failures() == 0 && n < 100) {
    ASSERT_TRUE(sink.append(b.build(car(), rs, kNow)));
    ++n;
  }
  EXPECT_EQ(sink.sync_failures(), 1u);
  EXPECT_FALSE(std::filesystem::exists(cfg.path.string() + ".1"));
  EXPECT_EQ(m.total("oemlink_file_sink_rotations_total", {{"sink", "events"}}), 0u);
  ASSERT_TRUE(sink.sync());
  std::ifstream in(cfg.path);
  size_t lines = 0;
  for (std::string l; std::getline(in, l);) ++lines;
  EXPECT_EQ(lines, n);
}

TEST(JsonLinesFileSink, FilesArePrivateWhateverTheUmask) {
  store::testing::TempDir dir;
  MetricsRegistry m;
  config::FileSinkConfig cfg;
  cfg.path = dir.path() / "new" / "events.jsonl";
  cfg.rotate_bytes = 1024;
  cfg.keep_files = 2;
  EventBuilder b(EnvelopeSettings{});
  oemlink_reading rs[] = {Reading::number("speed", kNow, 10)};
  const mode_t old = ::umask(0);
  {
    JsonLinesFileSink sink("events", cfg, m);
    for (int i = 0; i < 20; ++i) ASSERT_TRUE(sink.append(b.build(car(), rs, kNow)));
  }
  ::umask(old);
  struct stat st {};
  ASSERT_EQ(::stat(cfg.path.parent_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  for (const std::string suffix : {"", ".1", ".2"}) {
    ASSERT_EQ(::stat((cfg.path.string() + suffix).c_str(), &st), 0) << suffix;
    EXPECT_EQ(st.st_mode & 07777, 0600u) << suffix;
  }
  // A file an older version left open to others is narrowed when the sink opens it.
  ::chmod(cfg.path.c_str(), 0644);
  { JsonLinesFileSink sink("events", cfg, m); }
  ASSERT_EQ(::stat(cfg.path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
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
