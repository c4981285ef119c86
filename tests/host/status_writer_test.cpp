// StatusWriter: the loop hands over snapshots without waiting for the disk; the newest one wins;
// the final one is written before write_now returns; failures are counted, not thrown.
#include "core/host/status_writer.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

namespace oemlink::host {
namespace {

namespace fs = std::filesystem;

class StatusWriterTest : public ::testing::Test {
 protected:
  fs::path dir = fs::temp_directory_path() / ("oemlink-status-writer-" + std::to_string(getpid()));
  void SetUp() override {
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  void TearDown() override { fs::remove_all(dir); }
  static StatusSnapshot snapshot(uint64_t connections, bool running = true) {
    StatusSnapshot s;
    s.pid = getpid();
    s.running = running;
    s.connections = connections;
    return s;
  }
};

TEST_F(StatusWriterTest, SubmittedSnapshotsReachTheFileNewestLast) {
  MetricsRegistry metrics;
  StatusWriter writer(dir / "status.json", metrics);
  for (uint64_t i = 1; i <= 200; ++i) writer.submit(snapshot(i));
  std::optional<StatusSnapshot> seen;
  for (int i = 0; i < 500; ++i) {
    seen = read_status_file(dir / "status.json");
    if (seen && seen->connections == 200) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(seen);
  EXPECT_EQ(seen->connections, 200u);
}

TEST_F(StatusWriterTest, TheFinalSnapshotIsOnDiskWhenWriteNowReturns) {
  MetricsRegistry metrics;
  StatusWriter writer(dir / "status.json", metrics);
  writer.submit(snapshot(1));
  writer.write_now(snapshot(7, false));
  auto seen = read_status_file(dir / "status.json");
  ASSERT_TRUE(seen);
  EXPECT_EQ(seen->connections, 7u);
  EXPECT_FALSE(seen->running);
}

TEST_F(StatusWriterTest, AFailedWriteIsCountedAndTheWriterKeepsGoing) {
  MetricsRegistry metrics;
  StatusWriter writer(dir / "missing" / "status.json", metrics);
  writer.write_now(snapshot(1));
  writer.write_now(snapshot(2));
  EXPECT_EQ(metrics.total("oemlink_status_write_failures_total"), 2u);
}

}  // namespace
}  // namespace oemlink::host
