// What survives a crash, what is on disk, and what happens to bad bytes and wrong keys.
#include <gtest/gtest.h>
#include <signal.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/store/outbox_store.hpp"
#include "tests/store/store_test_util.hpp"

namespace oemlink::store {
namespace {

using testing::file_contains;
using testing::key_of;
using testing::RawDb;
using testing::TempDir;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

OutboxOptions options(const TempDir& dir) {
  OutboxOptions o;
  o.path = dir.path() / "outbox.db";
  o.sinks = {"dimo"};
  o.max_commit_delay = 2ms;
  return o;
}

std::string event_json(uint64_t i) {
  return R"({"id":"ev-)" + std::to_string(i) + R"(","data":{"lat":52.52,"odometer":)" +
         std::to_string(i) + "}}";
}

std::vector<OutboxRecord> read_all(OutboxStore& box) {
  return box.read("dimo", 0, 1'000'000);
}

// The child appends `n` events, waits until the last is reported durable and leaves without
// running any destructor: whatever was reported durable must be on disk.
TEST(OutboxDurability, EverythingReportedDurableSurvivesAnAbruptExit) {
  TempDir dir;
  constexpr uint64_t kN = 300;
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    try {
      std::atomic<uint64_t> durable{0};
      auto* box = new OutboxStore(options(dir), key_of(1), [&](uint64_t s) { durable = s; });
      uint64_t last = 0;
      for (uint64_t i = 1; i <= kN; ++i)
        last = *box->append("ev-" + std::to_string(i), "c", event_json(i));
      while (durable.load() < last) std::this_thread::sleep_for(1ms);
      _exit(0);  // no destructor, no flush
    } catch (...) {
      _exit(2);
    }
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0);

  OutboxStore box(options(dir), key_of(1), nullptr);
  auto records = read_all(box);
  ASSERT_EQ(records.size(), kN);
  for (uint64_t i = 1; i <= kN; ++i) {
    EXPECT_EQ(records[i - 1].seq, i);
    EXPECT_EQ(records[i - 1].event_id, "ev-" + std::to_string(i));
    EXPECT_EQ(records[i - 1].json, event_json(i));
  }
  EXPECT_EQ(box.append("ev-next", "c", event_json(0)), kN + 1);
}

// SIGKILL at an arbitrary moment while appends stream in: every seq the callback reported before
// the kill is present afterwards, and numbering continues above everything stored.
TEST(OutboxDurability, SigkillWhileAppendingLosesNothingReportedDurable) {
  TempDir dir;
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(fds[0]);
    try {
      auto* box = new OutboxStore(options(dir), key_of(1), [&](uint64_t s) {
        // Written only after the commit returned: a report the parent sees is durable.
        (void)!write(fds[1], &s, sizeof s);
      });
      for (uint64_t i = 1;; ++i) {
        if (!box->append("ev-" + std::to_string(i), "c", event_json(i))) _exit(3);
        if (i % 16 == 0) std::this_thread::sleep_for(100us);
      }
    } catch (...) {
      _exit(2);
    }
  }
  close(fds[1]);
  uint64_t reported = 0;
  uint64_t s = 0;
  while (reported < 500 && read(fds[0], &s, sizeof s) == sizeof s) reported = std::max(reported, s);
  kill(pid, SIGKILL);
  while (read(fds[0], &s, sizeof s) == sizeof s) reported = std::max(reported, s);
  close(fds[0]);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status));
  ASSERT_GE(reported, 500u);

  OutboxStore box(options(dir), key_of(1), nullptr);
  auto records = read_all(box);
  ASSERT_GE(records.size(), reported);
  for (uint64_t i = 1; i <= reported; ++i) {
    ASSERT_EQ(records[i - 1].seq, i);
    EXPECT_EQ(records[i - 1].event_id, "ev-" + std::to_string(i));
  }
  EXPECT_EQ(box.stats().corrupt, 0u);
  EXPECT_EQ(*box.append("ev-next", "c", event_json(0)), records.back().seq + 1);
}

TEST(OutboxDurability, CorruptRecordIsMovedAsideCountedAndOthersStillDelivered) {
  TempDir dir;
  {
    OutboxStore box(options(dir), key_of(1), nullptr);
    for (uint64_t i = 1; i <= 3; ++i) box.append("ev-" + std::to_string(i), "c", event_json(i));
  }
  RawDb raw(options(dir).path);
  raw.flip("records", "payload", 2, 20, 0x40);  // inside the ciphertext

  OutboxStore box(options(dir), key_of(1), nullptr);
  auto records = read_all(box);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].seq, 1u);
  EXPECT_EQ(records[1].seq, 3u);
  EXPECT_EQ(box.stats().corrupt, 1u);
  EXPECT_EQ(box.stats().depth, 2u);
  EXPECT_EQ(raw.count("SELECT COUNT(*) FROM corrupt WHERE seq = 2 AND event_id = 'ev-2'"), 1);
  EXPECT_EQ(raw.count("SELECT COUNT(*) FROM records WHERE seq = 2"), 0);
  // Moved, not re-reported on every read; and it does not hold the cursor back.
  EXPECT_EQ(read_all(box).size(), 2u);
  EXPECT_EQ(box.stats().corrupt, 1u);
  box.ack("dimo", {1, 3});
  EXPECT_EQ(box.cursor("dimo"), 3u);
}

TEST(OutboxDurability, RecordsCannotBeSwappedBetweenSeqs) {
  TempDir dir;
  {
    OutboxStore box(options(dir), key_of(1), nullptr);
    for (uint64_t i = 1; i <= 2; ++i) box.append("ev-" + std::to_string(i), "c", event_json(i));
  }
  {
    RawDb raw(options(dir).path);
    EXPECT_EQ(raw.count("UPDATE records SET payload = (SELECT payload FROM records WHERE seq = 1) "
                        "WHERE seq = 2 RETURNING 1"),
              1);
  }
  OutboxStore box(options(dir), key_of(1), nullptr);
  EXPECT_EQ(read_all(box).size(), 1u);
  EXPECT_EQ(box.stats().corrupt, 1u);
}

// Every insert into `records` fails until the trigger is dropped: a commit that fails and is
// retried by the writer.
void inject_insert_fault(RawDb& raw) {
  raw.exec(
      "CREATE TRIGGER fault BEFORE INSERT ON records BEGIN "
      "SELECT RAISE(ABORT, 'injected fault'); END");
}

// Routes spdlog into a string for the test's lifetime.
class CapturedLog {
 public:
  CapturedLog() : previous_(spdlog::default_logger()) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out_);
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("test", sink));
  }
  ~CapturedLog() { spdlog::set_default_logger(previous_); }
  std::string text() {
    spdlog::default_logger()->flush();
    return out_.str();
  }

 private:
  std::shared_ptr<spdlog::logger> previous_;
  std::ostringstream out_;
};

TEST(OutboxDurability, RetryAfterAFailedCommitStoresTheBatch) {
  TempDir dir;
  OutboxStore box(options(dir), key_of(1), nullptr);
  RawDb raw(options(dir).path);
  inject_insert_fault(raw);
  box.append("ev-1", "c", event_json(1));
  std::this_thread::sleep_for(150ms);  // the writer has failed at least once
  EXPECT_EQ(box.stats().durable_seq, 0u);
  raw.exec("DROP TRIGGER fault");
  box.flush();
  auto records = read_all(box);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].event_id, "ev-1");
  EXPECT_EQ(box.stats().corrupt, 0u);
}

// Readiness asks commit_health(): failing from the first failed attempt, with SQLite's reason,
// and healthy again once a commit succeeds.
TEST(OutboxDurability, CommitHealthReportsAFailingWriterUntilACommitSucceeds) {
  TempDir dir;
  OutboxStore box(options(dir), key_of(1), nullptr);
  box.append("ev-0", "c", event_json(0));
  box.flush();
  EXPECT_FALSE(box.commit_health().failing);
  EXPECT_FALSE(box.commit_failing());
  RawDb raw(options(dir).path);
  inject_insert_fault(raw);
  box.append("ev-1", "c", event_json(1));
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!box.commit_health().failing && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(5ms);
  OutboxCommitHealth h = box.commit_health();
  ASSERT_TRUE(h.failing);
  EXPECT_TRUE(box.commit_failing());  // what the pipeline asks on every emit
  EXPECT_GE(h.consecutive_failures, 1u);
  EXPECT_GE(h.failures_total, 1u);
  EXPECT_NE(h.last_error.find("injected fault"), std::string::npos) << h.last_error;
  raw.exec("DROP TRIGGER fault");
  box.flush();
  h = box.commit_health();
  EXPECT_FALSE(h.failing);
  EXPECT_FALSE(box.commit_failing());
  EXPECT_EQ(h.consecutive_failures, 0u);
  EXPECT_TRUE(h.last_error.empty());
  EXPECT_GE(h.failures_total, 1u);
}

// A disk that stays full must not hold a shutdown: flush_until gives up at its deadline,
// abandon() stops the writer's retries at once and counts what was never committed, and the
// destructor then returns without committing it. A reopen finds exactly what was durable.
TEST(OutboxDurability, AbandonStopsRetryingAndCountsWhatWasNeverCommitted) {
  TempDir dir;
  {
    OutboxStore box(options(dir), key_of(1), nullptr);
    box.append("ev-0", "c", event_json(0));
    box.flush();
    RawDb raw(options(dir).path);
    inject_insert_fault(raw);
    for (uint64_t i = 1; i <= 5; ++i) box.append("ev-" + std::to_string(i), "c", event_json(i));
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_FALSE(box.flush_until(t0 + 300ms));
    EXPECT_GE(std::chrono::steady_clock::now() - t0, 300ms);
    const auto t1 = std::chrono::steady_clock::now();
    OutboxAbandoned left = box.abandon(t1 + 5s);
    // The writer was between retries (backoff up to 2 s): woken, not waited out.
    EXPECT_LT(std::chrono::steady_clock::now() - t1, 1s);
    EXPECT_EQ(left.records, 5u);
    EXPECT_EQ(left.first_seq, 2u);
    EXPECT_EQ(left.last_seq, 6u);
    EXPECT_NE(left.error.find("injected fault"), std::string::npos) << left.error;
    box.flush();                     // returns at once once abandoned
    raw.exec("DROP TRIGGER fault");  // too late: nothing more is committed
  }
  OutboxStore reopened(options(dir), key_of(1), nullptr);
  auto records = read_all(reopened);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].event_id, "ev-0");
}

// A second writer on the same file takes the seq of a batch whose commit failed: the retry must
// not count the other writer's row as its own (that lost events silently).
TEST(OutboxDurability, RetryRefusesAnotherWritersRowAtItsSeq) {
  TempDir dir;
  CapturedLog log;
  {
    OutboxStore box(options(dir), key_of(1), nullptr);
    box.append("ev-1", "c", event_json(1));
    box.flush();
    RawDb raw(options(dir).path);
    inject_insert_fault(raw);
    box.append("ev-2", "c", event_json(2));
    std::this_thread::sleep_for(150ms);
    raw.exec(
        "BEGIN; DROP TRIGGER fault; "
        "INSERT INTO records(seq, event_id, connection_id, appended_ms, size, payload) "
        "VALUES(2, 'ev-intruder', 'c', 0, 3, x'010203'); COMMIT");
    std::this_thread::sleep_for(600ms);  // several retries
    EXPECT_EQ(box.stats().durable_seq, 1u);
    EXPECT_EQ(raw.count("SELECT COUNT(*) FROM records WHERE event_id = 'ev-2'"), 0);
  }
  const std::string text = log.text();
  EXPECT_NE(text.find("seq 2 already holds event 'ev-intruder', not this batch's event 'ev-2'"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(options(dir).path.string()), std::string::npos) << text;
  EXPECT_NE(text.find("not persisted"), std::string::npos) << text;
}

TEST(OutboxDurability, WrongDataKeyFailsAtOpen) {
  TempDir dir;
  { OutboxStore box(options(dir), key_of(1), nullptr); }
  try {
    OutboxStore box(options(dir), key_of(2), nullptr);
    FAIL() << "opened with the wrong key";
  } catch (const StoreError& e) {
    EXPECT_NE(std::string(e.what()).find("data key does not match"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("outbox.db"), std::string::npos) << e.what();
  }
}

TEST(OutboxDurability, NoEventPlaintextOnDiskAndFilesArePrivate) {
  TempDir dir;
  const std::string secret = "LOCATION-48.8584-2.2945-VERY-DISTINCT";
  const fs::path db = options(dir).path;
  auto scan = [&] {
    for (const char* suffix : {"", "-wal", "-shm"}) {
      fs::path p = db.string() + suffix;
      if (!fs::exists(p)) continue;
      EXPECT_FALSE(file_contains(p, secret)) << p;
      EXPECT_FALSE(file_contains(p, "odometer")) << p;
      struct stat st {};
      ASSERT_EQ(stat(p.c_str(), &st), 0);
      EXPECT_EQ(st.st_mode & 077, 0u) << p;
    }
  };
  {
    OutboxStore box(options(dir), key_of(1), nullptr);
    for (int i = 0; i < 50; ++i) {
      box.append("ev-" + std::to_string(i), "c", R"({"odometer":1,"where":")" + secret + "\"}");
    }
    box.flush();
    ASSERT_TRUE(fs::exists(db.string() + "-wal"));
    scan();
    box.dead_letter("dimo", 1, "rejected");
    scan();
    EXPECT_EQ(box.read("dimo", 0, 1)[0].json.find(secret) != std::string::npos, true);
  }
  scan();
  EXPECT_TRUE(file_contains(db, "ev-1"));  // ids are deliberately clear
}

}  // namespace
}  // namespace oemlink::store
