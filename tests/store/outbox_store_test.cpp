// OutboxStore behaviour through its public interface: round trip, group commit, cursors, sinks,
// bound policies, dead letters.
#include "core/store/outbox_store.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "tests/store/store_test_util.hpp"

namespace oemlink::store {
namespace {

using testing::key_of;
using testing::TempDir;
using namespace std::chrono_literals;

OutboxOptions options(const TempDir& dir, std::vector<std::string> sinks = {"dimo"}) {
  OutboxOptions o;
  o.path = dir.path() / "data" / "outbox.db";
  o.sinks = std::move(sinks);
  o.max_commit_delay = 2ms;
  return o;
}

std::string json_of(int i) {
  return R"({"id":"ev-)" + std::to_string(i) + R"(","data":{"speed":)" + std::to_string(i) + "}}";
}

std::vector<uint64_t> seqs_of(const std::vector<OutboxRecord>& records) {
  std::vector<uint64_t> out;
  for (const auto& r : records) out.push_back(r.seq);
  return out;
}

using Seqs = std::vector<uint64_t>;

TEST(OutboxStore, AppendReadAckRoundTrip) {
  TempDir dir;
  OutboxStore box(options(dir), key_of(1), nullptr);
  for (int i = 1; i <= 3; ++i) {
    EXPECT_EQ(box.append("ev-" + std::to_string(i), "conn-a", json_of(i)), uint64_t(i));
  }
  box.flush();
  auto records = box.read("dimo", 0, 10);
  ASSERT_EQ(records.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(records[i].seq, uint64_t(i + 1));
    EXPECT_EQ(records[i].event_id, "ev-" + std::to_string(i + 1));
    EXPECT_EQ(records[i].connection_id, "conn-a");
    EXPECT_EQ(records[i].json, json_of(i + 1));
    EXPECT_GT(records[i].appended_ms, 0);
  }
  EXPECT_EQ(seqs_of(box.read("dimo", 1, 1)), Seqs{2});
  EXPECT_EQ(box.stats().depth, 3u);
  EXPECT_GT(box.stats().oldest_ms, 0);

  box.ack("dimo", {1, 2, 3});
  EXPECT_EQ(box.cursor("dimo"), 3u);
  EXPECT_TRUE(box.read("dimo", 0, 10).empty());
  OutboxStats st = box.stats();
  EXPECT_EQ(st.depth, 0u);
  EXPECT_EQ(st.bytes, 0u);
  EXPECT_EQ(st.oldest_ms, 0);
  EXPECT_EQ(st.appended, 3u);
  EXPECT_EQ(st.durable_seq, 3u);
}

TEST(OutboxStore, ReadReturnsOnlyDurableRecordsAndCallbackReportsThem) {
  TempDir dir;
  std::atomic<uint64_t> durable{0};
  OutboxOptions o = options(dir);
  o.max_commit_delay = 200ms;  // long window: the record stays queued for a while
  OutboxStore box(o, key_of(1), [&](uint64_t seq) { durable = seq; });
  box.append("ev-1", "c", json_of(1));
  EXPECT_TRUE(box.read("dimo", 0, 10).empty());
  box.flush();
  EXPECT_EQ(durable.load(), 1u);
  EXPECT_EQ(box.read("dimo", 0, 10).size(), 1u);
}

TEST(OutboxStore, GroupCommitBatchesManyAppendsIntoFewTransactions) {
  TempDir dir;
  OutboxOptions o = options(dir);
  o.max_commit_delay = 20ms;
  std::atomic<uint64_t> last{0};
  std::atomic<int> calls{0};
  OutboxStore box(o, key_of(1), [&](uint64_t seq) {
    EXPECT_GT(seq, last.load());  // monotonic
    last = seq;
    ++calls;
  });
  constexpr int kN = 2000;
  for (int i = 1; i <= kN; ++i) box.append("ev-" + std::to_string(i), "c", json_of(i));
  box.flush();
  const OutboxStats st = box.stats();
  EXPECT_EQ(st.durable_seq, uint64_t(kN));
  EXPECT_EQ(last.load(), uint64_t(kN));
  EXPECT_LE(st.commits, 20u) << "one transaction per window, not per append";
  EXPECT_EQ(uint64_t(calls.load()), st.commits);
}

// The group-commit window is a wait for more events, not a delay imposed on flush or shutdown.
TEST(OutboxStore, FlushAndCloseDoNotWaitOutTheCommitDelay) {
  TempDir dir;
  OutboxOptions o = options(dir);
  o.max_commit_delay = 5s;
  const auto start = std::chrono::steady_clock::now();
  {
    OutboxStore box(o, key_of(1), nullptr);
    box.append("ev-1", "c", json_of(1));
    std::this_thread::sleep_for(20ms);  // the writer is asleep in the window
    box.flush();
    EXPECT_EQ(box.stats().durable_seq, 1u);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 1s) << "flush waited out the window";
    box.append("ev-2", "c", json_of(2));
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s) << "close waited out the window";
  OutboxStore again(o, key_of(1), nullptr);
  EXPECT_EQ(again.read("dimo", 0, 10).size(), 2u);
}

TEST(OutboxStore, MaxBatchOneCommitsEachAppend) {
  TempDir dir;
  OutboxOptions o = options(dir);
  o.max_batch = 1;
  OutboxStore box(o, key_of(1), nullptr);
  for (int i = 1; i <= 20; ++i) box.append("ev", "c", json_of(i));
  box.flush();
  EXPECT_EQ(box.stats().commits, 20u);
}

TEST(OutboxStore, OutOfOrderAcksAreSkippedAndCursorAdvancesOverContiguousPrefix) {
  TempDir dir;
  OutboxStore box(options(dir), key_of(1), nullptr);
  for (int i = 1; i <= 5; ++i) box.append("ev", "c", json_of(i));
  box.flush();
  box.ack("dimo", {2, 3, 5});
  EXPECT_EQ(box.cursor("dimo"), 0u);
  EXPECT_EQ(seqs_of(box.read("dimo", 0, 10)), (Seqs{1, 4}));
  box.ack("dimo", {1});
  EXPECT_EQ(box.cursor("dimo"), 3u);
  EXPECT_EQ(seqs_of(box.read("dimo", 0, 10)), Seqs{4});
  box.ack("dimo", {4, 4, 99, 0});  // duplicates, unknown and zero are harmless
  EXPECT_EQ(box.cursor("dimo"), 5u);
  EXPECT_EQ(box.stats().depth, 0u);
}

TEST(OutboxStore, SeqsContinueAndCursorsSurviveReopen) {
  TempDir dir;
  {
    OutboxStore box(options(dir), key_of(1), nullptr);
    for (int i = 1; i <= 5; ++i) box.append("ev-" + std::to_string(i), "c", json_of(i));
    box.flush();
    box.ack("dimo", {1, 2, 4});
    EXPECT_EQ(box.cursor("dimo"), 2u);
  }
  {
    OutboxStore box(options(dir), key_of(1), nullptr);
    EXPECT_EQ(box.cursor("dimo"), 2u);
    // 4 was acknowledged out of order: that is remembered on disk, so only what was never
    // acknowledged is delivered again after a restart.
    EXPECT_EQ(seqs_of(box.read("dimo", 0, 10)), (Seqs{3, 5}));
    EXPECT_EQ(box.stats().depth, 3u);
    EXPECT_EQ(box.stats().durable_seq, 5u);
    EXPECT_EQ(box.append("ev-6", "c", json_of(6)), 6u);
    box.flush();
    box.ack("dimo", {3, 4, 5, 6});
    EXPECT_EQ(box.stats().depth, 0u);
  }
  // Every record is gone; sequence numbers still never repeat.
  OutboxStore box(options(dir), key_of(1), nullptr);
  EXPECT_EQ(box.append("ev-7", "c", json_of(7)), 7u);
}

TEST(OutboxStore, TwoSinksHaveSeparateCursorsAndRecordsStayUntilBothArePast) {
  TempDir dir;
  OutboxStore box(options(dir, {"dimo", "archive"}), key_of(1), nullptr);
  for (int i = 1; i <= 3; ++i) box.append("ev", "c", json_of(i));
  box.flush();
  box.ack("dimo", {1, 2, 3});
  EXPECT_EQ(box.cursor("dimo"), 3u);
  EXPECT_EQ(box.cursor("archive"), 0u);
  EXPECT_TRUE(box.read("dimo", 0, 10).empty());
  EXPECT_EQ(box.stats().depth, 3u);
  EXPECT_EQ(seqs_of(box.read("archive", 0, 10)), (Seqs{1, 2, 3}));
  box.ack("archive", {1});
  EXPECT_EQ(box.stats().depth, 2u);
  box.ack("archive", {2, 3});
  EXPECT_EQ(box.stats().depth, 0u);
  EXPECT_THROW(box.read("nope", 0, 1), StoreError);
  EXPECT_THROW(box.ack("nope", {1}), StoreError);
}

TEST(OutboxStore, NewSinkReceivesEverythingStoredAndRemovedSinkStopsPinning) {
  TempDir dir;
  {
    OutboxStore box(options(dir, {"dimo"}), key_of(1), nullptr);
    for (int i = 1; i <= 3; ++i) box.append("ev", "c", json_of(i));
    box.flush();
    box.ack("dimo", {1});
  }
  {
    OutboxStore box(options(dir, {"dimo", "archive"}), key_of(1), nullptr);
    EXPECT_EQ(box.cursor("archive"), 1u);
    EXPECT_EQ(seqs_of(box.read("archive", 0, 10)), (Seqs{2, 3}));
    box.ack("dimo", {2, 3});
    EXPECT_EQ(box.stats().depth, 2u);  // archive still holds them
  }
  OutboxStore box(options(dir, {"dimo"}), key_of(1), nullptr);
  EXPECT_EQ(box.stats().depth, 0u);  // archive's cursor was dropped with it
  EXPECT_THROW(box.cursor("archive"), StoreError);
}

TEST(OutboxStore, SinkListedTwiceIsOneSink) {
  TempDir dir;
  OutboxStore box(options(dir, {"dimo", "dimo"}), key_of(1), nullptr);
  box.append("ev", "c", json_of(1));
  box.flush();
  box.ack("dimo", {1});
  EXPECT_EQ(box.stats().depth, 0u);
}

TEST(OutboxStore, BlockPolicyRefusesAtTheBoundAndAcceptsAfterAcks) {
  TempDir dir;
  OutboxOptions o = options(dir);
  o.max_records = 3;
  OutboxStore box(o, key_of(1), nullptr);
  for (int i = 1; i <= 3; ++i) ASSERT_TRUE(box.append("ev", "c", json_of(i)));
  EXPECT_EQ(box.append("ev", "c", json_of(4)), std::nullopt);
  EXPECT_EQ(box.append("ev", "c", json_of(4)), std::nullopt);
  EXPECT_EQ(box.stats().refused, 2u);
  box.flush();
  box.ack("dimo", {1, 2});
  EXPECT_EQ(box.append("ev", "c", json_of(4)), 4u);  // refused appends used no seq
  EXPECT_EQ(box.stats().depth, 2u);
}

TEST(OutboxStore, BlockPolicyHonoursTheByteBound) {
  TempDir dir;
  OutboxOptions o = options(dir);
  const std::string big(1000, 'x');
  o.max_bytes = 2 * (big.size() + 29);  // 29: the seal's overhead
  OutboxStore box(o, key_of(1), nullptr);
  EXPECT_TRUE(box.append("ev", "c", big));
  EXPECT_TRUE(box.append("ev", "c", big));
  EXPECT_FALSE(box.append("ev", "c", big));
  EXPECT_EQ(box.stats().bytes, o.max_bytes);
}

TEST(OutboxStore, OversizedEventIsAcceptedIntoAnEmptyOutbox) {
  TempDir dir;
  OutboxOptions o = options(dir);
  o.max_bytes = 10;
  OutboxStore box(o, key_of(1), nullptr);
  EXPECT_TRUE(box.append("ev", "c", json_of(1)));
  EXPECT_FALSE(box.append("ev", "c", json_of(2)));
}

TEST(OutboxStore, DropOldestEvictsTheOldestAndCountsThem) {
  TempDir dir;
  OutboxOptions o = options(dir);
  o.max_records = 5;
  o.full_policy = FullPolicy::drop_oldest;
  OutboxStore box(o, key_of(1), nullptr);
  for (int i = 1; i <= 6; ++i) {
    ASSERT_TRUE(box.append("ev-" + std::to_string(i), "c", json_of(i)));
    box.flush();  // stored, so eviction happens in the database
  }
  for (int i = 7; i <= 12; ++i) ASSERT_TRUE(box.append("ev-" + std::to_string(i), "c", json_of(i)));
  box.flush();
  const OutboxStats st = box.stats();
  EXPECT_EQ(st.dropped, 7u);
  EXPECT_EQ(st.depth, 5u);
  EXPECT_EQ(seqs_of(box.read("dimo", 0, 100)), (Seqs{8, 9, 10, 11, 12}));
  // Dropped records do not hold the cursor back.
  box.ack("dimo", {8, 9, 10, 11, 12});
  EXPECT_EQ(box.cursor("dimo"), 12u);
  EXPECT_EQ(box.stats().depth, 0u);
}

TEST(OutboxStore, DeadLetterRetryAndPurge) {
  TempDir dir;
  OutboxStore box(options(dir), key_of(1), nullptr);
  for (int i = 1; i <= 3; ++i) box.append("ev-" + std::to_string(i), "conn", json_of(i));
  box.flush();
  box.dead_letter("dimo", 2, "400 Bad Request: unknown field");
  box.ack("dimo", {1, 3});
  EXPECT_EQ(box.cursor("dimo"), 3u);  // the dead letter counts as done
  EXPECT_EQ(box.stats().depth, 0u);
  EXPECT_EQ(box.stats().dead_letters, 1u);

  auto dls = box.dead_letters();
  ASSERT_EQ(dls.size(), 1u);
  EXPECT_EQ(dls[0].seq, 2u);
  EXPECT_EQ(dls[0].sink, "dimo");
  EXPECT_EQ(dls[0].event_id, "ev-2");
  EXPECT_EQ(dls[0].connection_id, "conn");
  EXPECT_EQ(dls[0].reason, "400 Bad Request: unknown field");
  EXPECT_EQ(dls[0].json, json_of(2));
  EXPECT_GT(dls[0].failed_ms, 0);
  EXPECT_TRUE(box.dead_letters("other").empty());

  EXPECT_EQ(box.retry_dead_letters("dimo"), 1u);
  EXPECT_TRUE(box.dead_letters().empty());
  auto again = box.read("dimo", 0, 10);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].seq, 4u);           // a new record with a new seq...
  EXPECT_EQ(again[0].event_id, "ev-2");  // ...and the same event
  EXPECT_EQ(again[0].json, json_of(2));

  box.dead_letter("dimo", 4, std::string(5000, 'r'));
  dls = box.dead_letters("dimo");
  ASSERT_EQ(dls.size(), 1u);
  EXPECT_EQ(dls[0].reason.size(), 4096u);
  EXPECT_EQ(box.purge_dead_letters("dimo", 99), 0u);
  EXPECT_EQ(box.purge_dead_letters("dimo", 4), 1u);
  EXPECT_TRUE(box.dead_letters().empty());
  EXPECT_EQ(box.stats().dead_letters, 0u);
  EXPECT_EQ(box.stats().depth, 0u);
}

TEST(OutboxStore, DeadLettersSurviveReopen) {
  TempDir dir;
  {
    OutboxStore box(options(dir), key_of(1), nullptr);
    box.append("ev-1", "conn", json_of(1));
    box.flush();
    box.dead_letter("dimo", 1, "nope");
  }
  OutboxStore box(options(dir), key_of(1), nullptr);
  EXPECT_EQ(box.stats().dead_letters, 1u);
  EXPECT_EQ(box.cursor("dimo"), 1u);
  EXPECT_EQ(box.retry_dead_letters({}, 1), 1u);
  EXPECT_EQ(seqs_of(box.read("dimo", 0, 10)), Seqs{2});
}

}  // namespace
}  // namespace oemlink::store

namespace oemlink::store {
namespace {

// A reload adds and removes sinks while the outbox is open.
TEST(OutboxStoreLiveSinks, AnAddedSinkReceivesWhatIsAppendedFromThenOn) {
  TempDir dir;
  {
    OutboxStore box(options(dir), key_of(1), nullptr);
    for (int i = 1; i <= 3; ++i) box.append("ev-" + std::to_string(i), "c", json_of(i));
    box.flush();
    EXPECT_EQ(box.add_sink("extra"), 3u);
    EXPECT_EQ(box.add_sink("extra"), 3u);  // a second add keeps the cursor
    EXPECT_TRUE(box.read("extra", 0, 10).empty());
    box.append("ev-4", "c", json_of(4));
    box.flush();
    EXPECT_EQ(seqs_of(box.read("extra", 0, 10)), Seqs{4});
    EXPECT_EQ(seqs_of(box.read("dimo", 0, 10)), (Seqs{1, 2, 3, 4}));
    // Records are kept until both are past them.
    box.ack("dimo", {1, 2, 3, 4});
    EXPECT_EQ(box.stats().depth, 1u);
    EXPECT_EQ((std::vector<std::string>{"dimo", "extra"}), box.sinks());
  }
  // Its cursor is durable: a restart with both configured keeps it.
  OutboxStore again(options(dir, {"dimo", "extra"}), key_of(1), nullptr);
  EXPECT_EQ(again.cursor("extra"), 3u);
  EXPECT_EQ(seqs_of(again.read("extra", 0, 10)), Seqs{4});
}

TEST(OutboxStoreLiveSinks, ARemovedSinkReleasesWhatOnlyItHeld) {
  TempDir dir;
  OutboxStore box(options(dir, {"dimo", "slow"}), key_of(1), nullptr);
  for (int i = 1; i <= 4; ++i) box.append("ev-" + std::to_string(i), "c", json_of(i));
  box.flush();
  box.ack("dimo", {1, 2, 3});
  EXPECT_EQ(box.stats().depth, 4u);  // "slow" delivered nothing
  box.remove_sink("slow");
  EXPECT_EQ(box.stats().depth, 1u);
  EXPECT_EQ(box.sinks(), std::vector<std::string>{"dimo"});
  EXPECT_THROW(box.read("slow", 0, 10), StoreError);
  // The last sink is never removed: its records would have nobody to release them.
  EXPECT_THROW(box.remove_sink("dimo"), StoreError);
  EXPECT_EQ(seqs_of(box.read("dimo", 0, 10)), Seqs{4});
}

}  // namespace
}  // namespace oemlink::store
