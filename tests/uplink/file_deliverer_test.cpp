// FileDeliverer on a real file and a real loop: a delivery is confirmed only once the whole batch
// it was written with has been flushed and synced, a failing disk means retry, and shutdown
// confirms what was written and refuses the rest.
#include "core/uplink/file_deliverer.hpp"

#include "tests/store/store_test_util.hpp"

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>

#include <atomic>
#include <cerrno>
#include <fstream>
#include <map>

namespace oemlink::uplink {
namespace {

using namespace std::chrono_literals;
using Kind = DeliveryResult::Kind;
using store::testing::TempDir;

store::OutboxRecord record(uint64_t seq) {
  store::OutboxRecord r;
  r.seq = seq;
  r.event_id = "ev-" + std::to_string(seq);
  r.connection_id = "car-1";
  r.json = R"({"id":")" + r.event_id + R"(","n":)" + std::to_string(seq) + "}";
  return r;
}

std::vector<std::string> lines_of(const std::filesystem::path& p) {
  std::vector<std::string> out;
  std::ifstream in(p);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

class FileDelivererTest : public ::testing::Test {
 protected:
  config::FileSinkConfig config_for(std::filesystem::path path) {
    config::FileSinkConfig c;
    c.path = std::move(path);
    c.rotate_bytes = 0;
    return c;
  }
  template <class Pred>
  bool run_until(Pred done) {
    auto end = std::chrono::steady_clock::now() + 10s;
    while (!done()) {
      if (std::chrono::steady_clock::now() > end) return false;
      io_.run_for(2ms);
    }
    return true;
  }

  TempDir dir_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_{
      io_.get_executor()};
  MetricsRegistry metrics_;
};

TEST_F(FileDelivererTest, ConfirmsABatchOnlyOnceAllItsLinesAreInTheFile) {
  auto cfg = config_for(dir_.path() / "out" / "events.jsonl");
  FileDeliverer d("file", cfg, io_, metrics_);
  constexpr size_t kBatch = 50;
  std::vector<DeliveryResult> results;
  std::vector<size_t> lines_at_confirmation;
  for (uint64_t seq = 1; seq <= kBatch; ++seq) {
    d.deliver(record(seq), [&](DeliveryResult r) {
      results.push_back(std::move(r));
      lines_at_confirmation.push_back(lines_of(cfg.path).size());
    });
  }
  EXPECT_TRUE(results.empty());  // nothing confirmed before its sync
  ASSERT_TRUE(run_until([&] { return results.size() == kBatch; }));
  for (size_t i = 0; i < kBatch; ++i) {
    EXPECT_EQ(results[i].kind, Kind::delivered) << results[i].detail;
    EXPECT_EQ(lines_at_confirmation[i], kBatch) << "confirmation " << i;
  }
  auto lines = lines_of(cfg.path);
  ASSERT_EQ(lines.size(), kBatch);
  for (uint64_t seq = 1; seq <= kBatch; ++seq) EXPECT_EQ(lines[seq - 1], record(seq).json);
  EXPECT_EQ(metrics_.total("oemlink_file_sink_events_written_total", {{"sink", "file"}}), kBatch);
}

TEST_F(FileDelivererTest, KeepsConfirmingLaterBatches) {
  auto cfg = config_for(dir_.path() / "events.jsonl");
  FileDeliverer d("file", cfg, io_, metrics_);
  size_t delivered = 0;
  for (uint64_t seq = 1; seq <= 5; ++seq) {
    d.deliver(record(seq), [&](DeliveryResult r) { delivered += r.kind == Kind::delivered; });
    ASSERT_TRUE(run_until([&] { return delivered == seq; })) << seq;
  }
  EXPECT_EQ(lines_of(cfg.path).size(), 5u);
}

TEST_F(FileDelivererTest, ADiskThatCannotTakeTheBatchMeansRetryNamingTheFile) {
  // /dev/full takes writes into the buffer and fails the flush with ENOSPC.
  auto cfg = config_for("/dev/full");
  FileDeliverer d("full", cfg, io_, metrics_);
  std::vector<DeliveryResult> results;
  for (uint64_t seq = 1; seq <= 3; ++seq)
    d.deliver(record(seq), [&](DeliveryResult r) { results.push_back(std::move(r)); });
  ASSERT_TRUE(run_until([&] { return results.size() == 3; }));
  for (auto& r : results) {
    EXPECT_EQ(r.kind, Kind::retry);
    EXPECT_EQ(r.detail, "cannot sync /dev/full");
  }
  EXPECT_GE(metrics_.total("oemlink_file_sink_write_failures_total", {{"sink", "full"}}), 1u);
}

// Fails the next `file_failures` file syncs and, while `fail_dirs` is set, every directory sync.
struct FaultySync {
  std::atomic<int> file_failures{0};
  std::atomic<bool> fail_dirs{false};
  SyncFunction function() {
    return [this](int fd, bool directory) {
      if (directory ? fail_dirs.load() : file_failures.fetch_sub(1) > 0) {
        errno = EIO;
        return -1;
      }
      return sync_fd(fd, directory);
    };
  }
};

// Lines written to a file whose pre-rotation sync failed may be lost: they come back as retry,
// while lines written after the failure are confirmed by a later successful sync.
TEST_F(FileDelivererTest, LinesBeforeAFailedRotationSyncAreRetried) {
  auto cfg = config_for(dir_.path() / "events.jsonl");
  cfg.rotate_bytes = 300;
  cfg.keep_files = 8;
  FaultySync faults;
  FileDeliverer d("file", cfg, io_, metrics_, faults.function());
  std::map<uint64_t, DeliveryResult> results;
  d.deliver(record(1), [&](DeliveryResult r) { results[1] = std::move(r); });
  ASSERT_TRUE(run_until([&] { return results.size() == 1; }));
  EXPECT_EQ(results[1].kind, Kind::delivered);
  faults.file_failures = 1;  // the rotation's sync of the first file
  constexpr uint64_t kLast = 20;
  for (uint64_t seq = 2; seq <= kLast; ++seq)
    d.deliver(record(seq), [&, seq](DeliveryResult r) { results[seq] = std::move(r); });
  ASSERT_TRUE(run_until([&] { return results.size() == kLast; }));
  uint64_t last_retried = 0;
  uint64_t first_delivered = 0;
  for (uint64_t seq = 2; seq <= kLast; ++seq) {
    if (results[seq].kind == Kind::retry) {
      last_retried = seq;
      EXPECT_EQ(results[seq].detail, "cannot sync " + cfg.path.string());
    } else if (first_delivered == 0) {
      first_delivered = seq;
    }
  }
  EXPECT_GE(last_retried, 2u) << "lines written before the failed sync were confirmed";
  EXPECT_GT(first_delivered, last_retried);
}

TEST_F(FileDelivererTest, NothingIsConfirmedUntilTheFilesDirectoryEntryIsSynced) {
  auto cfg = config_for(dir_.path() / "events.jsonl");
  FaultySync faults;
  faults.fail_dirs = true;  // the entry created at open is not durable
  FileDeliverer d("file", cfg, io_, metrics_, faults.function());
  std::vector<DeliveryResult> results;
  for (uint64_t seq = 1; seq <= 3; ++seq)
    d.deliver(record(seq), [&](DeliveryResult r) { results.push_back(std::move(r)); });
  ASSERT_TRUE(run_until([&] { return results.size() == 3; }));
  for (auto& r : results) EXPECT_EQ(r.kind, Kind::retry);
  faults.fail_dirs = false;
  d.deliver(record(4), [&](DeliveryResult r) { results.push_back(std::move(r)); });
  ASSERT_TRUE(run_until([&] { return results.size() == 4; }));
  EXPECT_EQ(results[3].kind, Kind::delivered);
}

TEST_F(FileDelivererTest, ShutdownConfirmsWhatWasWrittenAndRefusesMore) {
  auto cfg = config_for(dir_.path() / "events.jsonl");
  FileDeliverer d("file", cfg, io_, metrics_);
  std::vector<DeliveryResult> results;
  for (uint64_t seq = 1; seq <= 3; ++seq)
    d.deliver(record(seq), [&](DeliveryResult r) { results.push_back(std::move(r)); });
  d.shutdown();  // before the loop ran the sync: shutdown syncs and confirms itself
  ASSERT_EQ(results.size(), 3u);
  for (auto& r : results) EXPECT_EQ(r.kind, Kind::delivered);
  EXPECT_EQ(lines_of(cfg.path).size(), 3u);

  d.deliver(record(4), [&](DeliveryResult r) { results.push_back(std::move(r)); });
  ASSERT_EQ(results.size(), 4u);
  EXPECT_EQ(results[3].kind, Kind::retry);
  EXPECT_EQ(results[3].detail, "sink stopped");
  io_.run_for(20ms);  // the sync posted before shutdown confirms nothing twice
  EXPECT_EQ(results.size(), 4u);
  EXPECT_EQ(lines_of(cfg.path).size(), 3u);
}

}  // namespace
}  // namespace oemlink::uplink
