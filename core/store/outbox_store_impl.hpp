// OutboxStore's state, shared by its files: outbox_store.cpp (the public calls and the sink
// cursors), outbox_writer.cpp (the group-commit thread) and outbox_dead_letters.cpp. Not part of
// the store's interface; include it from nowhere else.
#pragma once

#include "core/store/outbox_store.hpp"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <utility>

#include "core/common/locked_buffer.hpp"
#include "core/store/outbox_db.hpp"
#include "core/store/sqlite_db.hpp"

namespace oemlink::store::outbox {

using Clock = std::chrono::steady_clock;

struct Pending {
  uint64_t seq = 0;
  std::string event_id;
  std::string connection_id;
  std::string json;
  int64_t appended_ms = 0;
  uint64_t size = 0;  // sealed size, known before sealing
  Clock::time_point queued_at;
};

struct SinkState {
  uint64_t cursor = 0;
  // Acknowledged out of order, above the cursor. Memory only: after a restart these records are
  // delivered again (a duplicate by event id, never a loss).
  std::set<uint64_t> acked;
};

struct Removed {
  uint64_t records = 0;
  uint64_t bytes = 0;
};

inline uint64_t as_seq(const Stmt& s, int column) {
  return static_cast<uint64_t>(column_int(s, column));
}

}  // namespace oemlink::store::outbox

namespace oemlink::store {

using outbox::as_seq;
using outbox::Clock;
using outbox::Pending;
using outbox::Removed;
using outbox::SinkState;

struct OutboxStore::Impl {
  Impl(OutboxOptions options, const DataKey& data_key, DurableCallback callback)
      : opt(std::move(options)),
        key(data_key),
        on_durable(std::move(callback)),
        db(prepared(opt.path), "outbox") {
    if (opt.max_batch == 0) opt.max_batch = 1;
    outbox::OpenState state = outbox::open(db, key.get(), opt.sinks);
    for (auto& [sink, seq] : state.cursors) sinks[sink].cursor = seq;
    for (auto& [sink, seqs] : state.acked) sinks[sink].acked.insert(seqs.begin(), seqs.end());
    committed_seq = state.high_seq;
    last_seq = state.high_seq;
    durable_seq = state.high_seq;
    reported_seq = durable_seq;
    records = state.records;
    bytes = state.bytes;
    dead_letter_rows = state.dead_letters;
  }

  static const std::filesystem::path& prepared(const std::filesystem::path& path) {
    outbox::precreate_private_file(path);
    return path;
  }

  void run_writer();
  void commit(std::vector<Pending>& batch);
  bool already_stored(const Pending& p, const std::vector<uint8_t>& sealed);
  Removed evict_oldest();
  void log_drops(bool force);

  SinkState& sink_state(std::string_view sink);
  uint64_t next_cursor(const SinkState& s);
  Removed persist_cursor(std::string_view sink, uint64_t cursor);
  void apply_cursor(SinkState& s, uint64_t cursor, const Removed& removed);
  void move_aside(uint64_t seq, const std::string& event_id);

  OutboxOptions opt;
  LockedDataKey key;
  DurableCallback on_durable;

  // Lock order: db_mu before mu, never the reverse.
  // db_mu guards the connection, the sink states and committed_seq.
  std::mutex db_mu;
  Db db;
  std::map<std::string, SinkState, std::less<>> sinks;
  uint64_t committed_seq = 0;  // highest seq whose transaction has committed
  // The connection is not at synchronous=FULL (an acknowledgement set it to NORMAL and could not
  // set it back): the next append commit restores FULL first, so no append is ever unsynced.
  bool sync_relaxed = false;
  void full_sync() {
    if (!sync_relaxed) return;
    db.exec("PRAGMA synchronous=FULL");
    sync_relaxed = false;
  }

  // mu guards everything below.
  std::mutex mu;
  std::condition_variable work_cv;
  std::condition_variable durable_cv;
  std::deque<Pending> queue;
  uint64_t queued_bytes = 0;
  uint64_t last_seq = 0;  // last assigned
  uint64_t durable_seq = 0;
  // Durable and reported through on_durable: flush() returns only once the callback has run, so
  // whoever flushes sees what the callback did.
  uint64_t reported_seq = 0;
  uint64_t flush_through = 0;  // a flush() waits for everything up to here
  uint64_t records = 0;        // undelivered: stored, being committed, or queued
  uint64_t bytes = 0;
  uint64_t appended = 0;
  uint64_t dropped = 0;
  uint64_t refused = 0;
  uint64_t corrupt = 0;
  uint64_t dead_letter_rows = 0;
  uint64_t commits = 0;
  OutboxCommitHealth commit_health;
  std::atomic<bool> commit_failing{false};  // commit_health.failing, read without mu
  uint64_t drops_unlogged = 0;
  Clock::time_point last_drop_log{};
  bool stopping = false;
  bool abandoning = false;   // abandon(): no more commits, no more retries
  bool writer_done = false;  // run_writer returned

  std::thread writer;
};

}  // namespace oemlink::store
