#include "core/store/outbox_store.hpp"

#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <utility>

#include "core/common/aead.hpp"
#include "core/common/locked_buffer.hpp"
#include "core/store/outbox_db.hpp"
#include "core/store/sqlite_db.hpp"

namespace oemlink::store {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr size_t kMaxReasonBytes = 4096;
// Drops and commit failures can happen thousands of times a second; one line per interval says
// the same thing without flooding the journal.
constexpr auto kLogInterval = 10s;

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

// Cuts at a UTF-8 character boundary so the stored reason stays valid text.
std::string truncate_utf8(std::string_view s, size_t max) {
  if (s.size() <= max) return std::string(s);
  size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  return std::string(s.substr(0, cut));
}

uint64_t as_seq(const Stmt& s, int column) {
  return static_cast<uint64_t>(outbox::column_int(s, column));
}

}  // namespace

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

// ---- writer -------------------------------------------------------------------------------

void OutboxStore::Impl::run_writer() {
  std::vector<Pending> batch;
  std::unique_lock lock(mu);
  for (;;) {
    work_cv.wait(lock, [&] { return !queue.empty() || stopping; });
    if (queue.empty() || abandoning) break;  // stopping: everything is committed, or given up
    if (!stopping) {
      // The group-commit window opens with the oldest queued append: appends that queued while
      // the previous commit was syncing are already late and go at once.
      const auto deadline = queue.front().queued_at + opt.max_commit_delay;
      // A flush() or the destructor is waiting: no reason to wait out the window.
      work_cv.wait_until(lock, deadline, [&] {
        return stopping || queue.size() >= opt.max_batch || queue.front().seq <= flush_through;
      });
    }
    const size_t n = std::min(queue.size(), opt.max_batch);
    batch.clear();
    for (size_t i = 0; i < n; ++i) {
      queued_bytes -= queue.front().size;
      batch.push_back(std::move(queue.front()));
      queue.pop_front();
    }
    lock.unlock();
    if (!batch.empty()) commit(batch);
    lock.lock();
  }
  writer_done = true;
  durable_cv.notify_all();
  lock.unlock();
  log_drops(true);
}

void OutboxStore::Impl::commit(std::vector<Pending>& batch) {
  std::vector<std::vector<uint8_t>> sealed;
  uint64_t failures = 0;
  Clock::time_point last_failure_log{};
  std::string last_reason;
  for (auto backoff = 50ms;; backoff = std::min<std::chrono::milliseconds>(backoff * 2, 2s)) {
    try {
      if (sealed.empty()) {
        sealed.reserve(batch.size());
        for (const Pending& p : batch) {
          sealed.push_back(aead::seal(key.get(), p.json, outbox::record_aad(p.seq)));
        }
      }
      const uint64_t last = batch.back().seq;
      {
        std::lock_guard db_lock(db_mu);
        full_sync();
        Transaction tx(db);
        {
          Stmt ins(db,
                   "INSERT INTO records(seq, event_id, connection_id, appended_ms, size, payload) "
                   "VALUES(?1, ?2, ?3, ?4, ?5, ?6)");
          for (size_t i = 0; i < batch.size(); ++i) {
            const Pending& p = batch[i];
            // A retry after a COMMIT that reported failure but did persist finds its own rows
            // (same event id, same sealed bytes: they are sealed once per batch). Anything else
            // at that seq is another writer's event, and counting it as ours would lose ours.
            if (failures > 0 && already_stored(p, sealed[i])) continue;
            ins.bind(1, static_cast<int64_t>(p.seq));
            ins.bind(2, p.event_id);
            ins.bind(3, p.connection_id);
            ins.bind(4, p.appended_ms);
            ins.bind(5, static_cast<int64_t>(sealed[i].size()));
            ins.bind(6, sealed[i]);
            ins.step();
            ins.reset();
          }
          Stmt hs(db,
                  "INSERT INTO meta(name, value) VALUES('high_seq', ?1) "
                  "ON CONFLICT(name) DO UPDATE SET value = excluded.value");
          hs.bind(1, static_cast<int64_t>(last));
          hs.step();
        }
        Removed evicted;
        if (opt.full_policy == FullPolicy::drop_oldest) evicted = evict_oldest();
        tx.commit();
        committed_seq = last;
        std::lock_guard lock(mu);
        records -= evicted.records;
        bytes -= evicted.bytes;
        dropped += evicted.records;
        drops_unlogged += evicted.records;
        durable_seq = last;
        ++commits;
        commit_health.failing = false;
        commit_failing.store(false, std::memory_order_relaxed);
        commit_health.consecutive_failures = 0;
        commit_health.last_error.clear();
      }
      if (failures > 0) {
        spdlog::info("outbox {}: commits work again after {} failures", opt.path.string(),
                     failures);
      }
      log_drops(false);
      if (on_durable) {
        try {
          on_durable(last);
        } catch (const std::exception& e) {
          spdlog::error("outbox {}: durable callback threw: {}", opt.path.string(), e.what());
        }
      }
      {
        std::lock_guard lock(mu);
        reported_seq = last;
      }
      durable_cv.notify_all();
      return;
    } catch (const std::exception& e) {
      // The batch stays in memory and is retried: its appenders have not been told it is
      // durable, so their sources still hold the data even if we never succeed.
      ++failures;
      const auto now = Clock::now();
      // A new reason is logged at once: a retry that meets another writer's row must be seen.
      if (failures == 1 || now - last_failure_log >= kLogInterval || last_reason != e.what()) {
        spdlog::error("outbox {}: cannot commit {} records (attempt {}): {}", opt.path.string(),
                      batch.size(), failures, e.what());
        last_failure_log = now;
        last_reason = e.what();
      }
      bool stop;
      std::unique_lock lock(mu);
      stop = stopping;
      commit_health.failing = true;
      commit_failing.store(true, std::memory_order_relaxed);
      commit_health.consecutive_failures = failures;
      commit_health.last_error = e.what();
      ++commit_health.failures_total;
      // Shutdown is out of time (abandon()): not one more attempt. Counted by abandon().
      if (abandoning) return;
      if (stop && failures >= 3) {
        spdlog::error(
            "outbox {}: shutting down with {} records (seq {}..{}) not persisted; their sources "
            "were never told they were durable",
            opt.path.string(), batch.size(), batch.front().seq, batch.back().seq);
        return;
      }
      // Woken early by abandon(), so a shutdown never waits out a backoff.
      work_cv.wait_for(lock, backoff, [&] { return abandoning; });
      if (abandoning) return;
    }
  }
}

// Within the writer's transaction on a retry: true when `p` is stored at its seq exactly as this
// batch sealed it; throws when a different event holds that seq.
bool OutboxStore::Impl::already_stored(const Pending& p, const std::vector<uint8_t>& sealed) {
  Stmt sel(db, "SELECT event_id, payload FROM records WHERE seq = ?1");
  sel.bind(1, static_cast<int64_t>(p.seq));
  if (!sel.step()) return false;
  const std::string stored_id = sel.text(0);
  const auto stored = sel.blob(1);
  if (stored_id == p.event_id && std::ranges::equal(stored, sealed)) return true;
  const char* what = stored_id == p.event_id ? "' with other sealed bytes" : "'";
  outbox::fail(db, "seq " + std::to_string(p.seq) + " already holds event '" + stored_id + what +
                       ", not this batch's event '" + p.event_id +
                       "' (another writer on this outbox?); the batch is not stored");
}

// drop_oldest: inside the writer's transaction, deletes the oldest stored records until the
// undelivered totals (which include what is still queued) fit the bound again.
Removed OutboxStore::Impl::evict_oldest() {
  uint64_t excess_records = 0;
  uint64_t excess_bytes = 0;
  {
    std::lock_guard lock(mu);
    if (records > opt.max_records) excess_records = records - opt.max_records;
    if (bytes > opt.max_bytes) excess_bytes = bytes - opt.max_bytes;
  }
  Removed removed;
  if (excess_records == 0 && excess_bytes == 0) return removed;
  uint64_t through = 0;
  {
    Stmt sel(db, "SELECT seq, size FROM records ORDER BY seq");
    while ((removed.records < excess_records || removed.bytes < excess_bytes) && sel.step()) {
      through = as_seq(sel, 0);
      ++removed.records;
      removed.bytes += as_seq(sel, 1);
    }
  }
  if (removed.records > 0) {
    Stmt del(db, "DELETE FROM records WHERE seq <= ?1");
    del.bind(1, static_cast<int64_t>(through));
    del.step();
  }
  return removed;
}

void OutboxStore::Impl::log_drops(bool force) {
  uint64_t n;
  uint64_t total;
  {
    std::lock_guard lock(mu);
    const auto now = Clock::now();
    if (drops_unlogged == 0) return;
    if (!force && last_drop_log != Clock::time_point{} && now - last_drop_log < kLogInterval) {
      return;
    }
    n = std::exchange(drops_unlogged, 0);
    total = dropped;
    last_drop_log = now;
  }
  spdlog::warn(
      "outbox {}: full (drop_oldest): dropped {} oldest undelivered records ({} since open)",
      opt.path.string(), n, total);
}

// ---- cursors ------------------------------------------------------------------------------

SinkState& OutboxStore::Impl::sink_state(std::string_view sink) {
  auto it = sinks.find(sink);
  if (it == sinks.end()) outbox::fail(db, "unknown sink '" + std::string(sink) + "'");
  return it->second;
}

// The highest seq such that every stored record at or below it is acknowledged by this sink.
// Records that no longer exist (deleted, dropped, moved aside) count as done, so the walk only
// visits stored records and stops at the first unacknowledged one.
uint64_t OutboxStore::Impl::next_cursor(const SinkState& s) {
  if (s.acked.empty()) return s.cursor;
  Stmt q(db, "SELECT seq FROM records WHERE seq > ?1 ORDER BY seq");
  q.bind(1, static_cast<int64_t>(s.cursor));
  while (q.step()) {
    const uint64_t seq = as_seq(q, 0);
    if (!s.acked.contains(seq)) return seq - 1;
  }
  // Everything committed so far is done (appends not yet committed have higher seqs).
  return committed_seq;
}

// Within the caller's transaction: stores the cursor and deletes what every sink is past.
Removed OutboxStore::Impl::persist_cursor(std::string_view sink, uint64_t cursor) {
  {
    Stmt up(db, "UPDATE cursors SET seq = ?2 WHERE sink = ?1");
    up.bind(1, sink);
    up.bind(2, static_cast<int64_t>(cursor));
    up.step();
  }
  uint64_t min_cursor = cursor;
  for (const auto& [name, s] : sinks) {
    if (name != sink) min_cursor = std::min(min_cursor, s.cursor);
  }
  {
    Stmt del_acks(db, "DELETE FROM sink_acks WHERE sink = ?1 AND seq <= ?2");
    del_acks.bind(1, sink);
    del_acks.bind(2, static_cast<int64_t>(cursor));
    del_acks.step();
  }
  Removed removed;
  Stmt del(db, "DELETE FROM records WHERE seq <= ?1 RETURNING size");
  del.bind(1, static_cast<int64_t>(min_cursor));
  while (del.step()) {
    ++removed.records;
    removed.bytes += as_seq(del, 0);
  }
  return removed;
}

void OutboxStore::Impl::apply_cursor(SinkState& s, uint64_t cursor, const Removed& removed) {
  s.cursor = cursor;
  s.acked.erase(s.acked.begin(), s.acked.upper_bound(cursor));
  std::lock_guard lock(mu);
  records -= removed.records;
  bytes -= removed.bytes;
}

void OutboxStore::Impl::move_aside(uint64_t seq, const std::string& event_id) {
  Removed removed;
  {
    Transaction tx(db);
    {
      Stmt size(db, "SELECT size FROM records WHERE seq = ?1");
      size.bind(1, static_cast<int64_t>(seq));
      if (!size.step()) return;
      removed = {1, as_seq(size, 0)};
    }
    Stmt ins(db,
             "INSERT INTO corrupt(seq, event_id, connection_id, moved_ms, payload) "
             "SELECT seq, event_id, connection_id, ?2, payload FROM records WHERE seq = ?1");
    ins.bind(1, static_cast<int64_t>(seq));
    ins.bind(2, outbox::now_ms());
    ins.step();
    Stmt del(db, "DELETE FROM records WHERE seq = ?1");
    del.bind(1, static_cast<int64_t>(seq));
    del.step();
    tx.commit();
  }
  {
    std::lock_guard lock(mu);
    records -= removed.records;
    bytes -= removed.bytes;
    ++corrupt;
  }
  spdlog::error(
      "outbox {}: record seq {} (event {}) failed authentication (corrupted or tampered with); "
      "moved to the corrupt table and skipped",
      opt.path.string(), seq, event_id);
}

// ---- public -------------------------------------------------------------------------------

OutboxStore::OutboxStore(OutboxOptions options, const DataKey& data_key, DurableCallback on_durable)
    : impl_(std::make_unique<Impl>(std::move(options), data_key, std::move(on_durable))) {
  impl_->writer = std::thread([impl = impl_.get()] { impl->run_writer(); });
}

OutboxStore::~OutboxStore() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->work_cv.notify_all();
  if (impl_->writer.joinable()) impl_->writer.join();
}

std::optional<uint64_t> OutboxStore::append(std::string_view event_id,
                                            std::string_view connection_id, std::string_view json) {
  Impl& m = *impl_;
  const OutboxOptions& opt = m.opt;
  // Copies happen before taking the lock.
  Pending p{0,
            std::string(event_id),
            std::string(connection_id),
            std::string(json),
            outbox::now_ms(),
            json.size() + aead::kOverhead,
            Clock::now()};
  std::unique_lock lock(m.mu);
  // An event larger than the whole bound is still accepted into an empty outbox, or it would
  // be refused forever.
  const bool full =
      m.records > 0 && (m.records + 1 > opt.max_records || m.bytes + p.size > opt.max_bytes);
  if (full) {
    if (opt.full_policy == FullPolicy::block) {
      ++m.refused;
      return std::nullopt;
    }
    // drop_oldest: stored records are evicted by the writer in its next transaction. Only when
    // the queue alone exceeds the bound are queued records dropped here, so memory stays bounded.
    while (!m.queue.empty() &&
           (m.queue.size() + 1 > opt.max_records || m.queued_bytes + p.size > opt.max_bytes)) {
      m.queued_bytes -= m.queue.front().size;
      m.bytes -= m.queue.front().size;
      --m.records;
      ++m.dropped;
      ++m.drops_unlogged;
      m.queue.pop_front();
    }
  }
  p.seq = ++m.last_seq;
  const uint64_t seq = p.seq;
  ++m.records;
  m.bytes += p.size;
  m.queued_bytes += p.size;
  ++m.appended;
  m.queue.push_back(std::move(p));
  const bool wake = m.queue.size() == 1 || m.queue.size() >= opt.max_batch;
  lock.unlock();
  if (wake) m.work_cv.notify_one();
  return seq;
}

void OutboxStore::flush() {
  std::unique_lock lock(impl_->mu);
  const uint64_t target = impl_->last_seq;
  impl_->flush_through = std::max(impl_->flush_through, target);
  impl_->work_cv.notify_all();
  impl_->durable_cv.wait(lock, [&] { return impl_->reported_seq >= target || impl_->abandoning; });
}

bool OutboxStore::flush_until(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(impl_->mu);
  const uint64_t target = impl_->last_seq;
  impl_->flush_through = std::max(impl_->flush_through, target);
  impl_->work_cv.notify_all();
  return impl_->durable_cv.wait_until(lock, deadline,
                                      [&] { return impl_->reported_seq >= target; });
}

OutboxAbandoned OutboxStore::abandon(std::chrono::steady_clock::time_point deadline) {
  Impl& m = *impl_;
  std::unique_lock lock(m.mu);
  m.abandoning = true;
  m.stopping = true;
  m.work_cv.notify_all();
  m.durable_cv.notify_all();  // a flush() waiting returns
  // The writer is between attempts (woken above) or inside one SQLite call; either ends soon.
  m.durable_cv.wait_until(lock, deadline, [&] { return m.writer_done; });
  OutboxAbandoned a;
  // Sequence numbers are assigned contiguously, and the writer commits them in order.
  if (m.last_seq > m.durable_seq) {
    a.records = m.last_seq - m.durable_seq;
    a.first_seq = m.durable_seq + 1;
    a.last_seq = m.last_seq;
  }
  if (m.commit_health.failing) a.error = m.commit_health.last_error;
  return a;
}

std::vector<OutboxRecord> OutboxStore::read(std::string_view sink, uint64_t after_seq, size_t max) {
  Impl& m = *impl_;
  std::vector<OutboxRecord> out;
  std::lock_guard db_lock(m.db_mu);
  const SinkState& s = m.sink_state(sink);
  if (max == 0) return out;
  std::vector<std::pair<uint64_t, std::string>> bad;
  {
    // Every visible row is committed, i.e. durable (synchronous=FULL).
    Stmt sel(m.db,
             "SELECT seq, event_id, connection_id, appended_ms, payload FROM records "
             "WHERE seq > ?1 ORDER BY seq");
    sel.bind(1, static_cast<int64_t>(std::max(after_seq, s.cursor)));
    while (out.size() < max && sel.step()) {
      const uint64_t seq = as_seq(sel, 0);
      if (s.acked.contains(seq)) continue;
      OutboxRecord r;
      r.seq = seq;
      r.event_id = sel.text(1);
      if (!aead::open(m.key.get(), sel.blob(4), outbox::record_aad(seq), r.json)) {
        bad.emplace_back(seq, std::move(r.event_id));
        continue;
      }
      r.connection_id = sel.text(2);
      r.appended_ms = outbox::column_int(sel, 3);
      out.push_back(std::move(r));
    }
  }
  for (const auto& [seq, event_id] : bad) {
    try {
      m.move_aside(seq, event_id);
    } catch (const std::exception& e) {
      // Still skipped; the next read tries again.
      spdlog::error("outbox {}: record seq {} failed authentication and cannot be moved aside: {}",
                    m.opt.path.string(), seq, e.what());
    }
  }
  return out;
}

void OutboxStore::ack(std::string_view sink, const std::vector<uint64_t>& seqs) {
  Impl& m = *impl_;
  std::lock_guard db_lock(m.db_mu);
  SinkState& s = m.sink_state(sink);
  // Seqs above committed_seq were never handed out by read(); acknowledging them would let the
  // cursor skip records still on their way to disk.
  std::vector<uint64_t> fresh;
  for (uint64_t seq : seqs) {
    if (seq > s.cursor && seq <= m.committed_seq && s.acked.insert(seq).second)
      fresh.push_back(seq);
  }
  if (fresh.empty()) return;
  const uint64_t next = m.next_cursor(s);
  // Not fsynced: an acknowledgement lost with the machine (power, kernel) only repeats a
  // delivery, which the receiver recognises by its event id; lost with the process it is not
  // lost (the WAL write had reached the kernel). The next append commit, at FULL, syncs the WAL
  // and these frames with it. A sync here cost an fsync per ack batch under db_mu, and every
  // append commit (so every held webhook 2xx and poll completion) queued behind it.
  m.db.exec("PRAGMA synchronous=NORMAL");
  m.sync_relaxed = true;
  struct Restore {
    Impl& m;
    ~Restore() {
      try {
        m.full_sync();
      } catch (const std::exception& e) {
        spdlog::warn(
            "outbox {}: synchronous=FULL not restored after an ack ({}); the next "
            "append commit restores it first",
            m.opt.path.string(), e.what());
      }
    }
  } restore{m};
  Transaction tx(m.db);
  // Acknowledgements the cursor cannot cover yet are written down, so that after a crash only
  // the deliveries that were really in flight are repeated.
  {
    Stmt ins(m.db, "INSERT OR IGNORE INTO sink_acks(sink, seq) VALUES(?1, ?2)");
    for (uint64_t seq : fresh) {
      if (seq <= next) continue;
      ins.reset();
      ins.bind(1, sink);
      ins.bind(2, static_cast<int64_t>(seq));
      ins.step();
    }
  }
  if (next <= s.cursor) {
    tx.commit();
    return;
  }
  const Removed removed = m.persist_cursor(sink, next);
  tx.commit();
  m.apply_cursor(s, next, removed);
}

void OutboxStore::dead_letter(std::string_view sink, uint64_t seq, std::string_view reason) {
  Impl& m = *impl_;
  std::lock_guard db_lock(m.db_mu);
  SinkState& s = m.sink_state(sink);
  if (seq <= s.cursor || seq > m.committed_seq) {
    spdlog::warn("outbox {}: sink '{}' dead-lettered seq {}, which it is not delivering",
                 m.opt.path.string(), sink, seq);
    return;
  }
  const std::string why = truncate_utf8(reason, kMaxReasonBytes);
  Transaction tx(m.db);
  bool existed;
  {
    Stmt ex(m.db, "SELECT EXISTS(SELECT 1 FROM dead_letters WHERE sink = ?1 AND seq = ?2)");
    ex.bind(1, sink);
    ex.bind(2, static_cast<int64_t>(seq));
    ex.step();
    existed = outbox::column_int(ex, 0) != 0;
  }
  {
    // The payload is copied sealed: its associated data is the seq, which the row keeps.
    Stmt ins(
        m.db,
        "INSERT OR REPLACE INTO dead_letters"
        "(sink, seq, event_id, connection_id, reason, failed_ms, payload) "
        "SELECT ?1, seq, event_id, connection_id, ?3, ?4, payload FROM records WHERE seq = ?2");
    ins.bind(1, sink);
    ins.bind(2, static_cast<int64_t>(seq));
    ins.bind(3, why);
    ins.bind(4, outbox::now_ms());
    ins.step();
  }
  const bool inserted = sqlite3_changes(m.db.handle()) > 0;
  if (!inserted) {
    spdlog::warn("outbox {}: sink '{}' dead-lettered seq {}, which is no longer stored",
                 m.opt.path.string(), sink, seq);
  }
  const bool was_acked = !s.acked.insert(seq).second;
  try {
    const uint64_t next = m.next_cursor(s);
    if (seq > next) {
      Stmt ins(m.db, "INSERT OR IGNORE INTO sink_acks(sink, seq) VALUES(?1, ?2)");
      ins.bind(1, sink);
      ins.bind(2, static_cast<int64_t>(seq));
      ins.step();
    }
    Removed removed;
    if (next > s.cursor) removed = m.persist_cursor(sink, next);
    tx.commit();
    if (next > s.cursor) m.apply_cursor(s, next, removed);
  } catch (...) {
    if (!was_acked) s.acked.erase(seq);
    throw;
  }
  if (inserted && !existed) {
    std::lock_guard lock(m.mu);
    ++m.dead_letter_rows;
  }
}

uint64_t OutboxStore::cursor(std::string_view sink) {
  std::lock_guard db_lock(impl_->db_mu);
  return impl_->sink_state(sink).cursor;
}

uint64_t OutboxStore::add_sink(std::string_view sink) {
  Impl& m = *impl_;
  std::lock_guard db_lock(m.db_mu);
  if (auto it = m.sinks.find(sink); it != m.sinks.end()) return it->second.cursor;
  const uint64_t start = m.committed_seq;
  Transaction tx(m.db);
  {
    // A cursor left by an earlier sink of this name (removed while not open) is replaced.
    Stmt del(m.db, "DELETE FROM sink_acks WHERE sink = ?1");
    del.bind(1, sink);
    del.step();
  }
  {
    Stmt ins(m.db, "INSERT OR REPLACE INTO cursors(sink, seq) VALUES(?1, ?2)");
    ins.bind(1, sink);
    ins.bind(2, static_cast<int64_t>(start));
    ins.step();
  }
  tx.commit();
  m.sinks[std::string(sink)].cursor = start;
  spdlog::info("outbox {}: new sink '{}' starts after seq {}", m.opt.path.string(), sink, start);
  return start;
}

void OutboxStore::remove_sink(std::string_view sink) {
  Impl& m = *impl_;
  std::lock_guard db_lock(m.db_mu);
  auto it = m.sinks.find(sink);
  if (it == m.sinks.end()) return;
  if (m.sinks.size() == 1)
    outbox::fail(m.db, "sink '" + std::string(sink) + "' is the last one and cannot be removed");
  uint64_t min_cursor = UINT64_MAX;
  for (const auto& [name, s] : m.sinks)
    if (name != sink) min_cursor = std::min(min_cursor, s.cursor);
  Removed removed;
  Transaction tx(m.db);
  {
    Stmt del(m.db, "DELETE FROM cursors WHERE sink = ?1");
    del.bind(1, sink);
    del.step();
  }
  {
    Stmt del(m.db, "DELETE FROM sink_acks WHERE sink = ?1");
    del.bind(1, sink);
    del.step();
  }
  {
    Stmt del(m.db, "DELETE FROM records WHERE seq <= ?1 RETURNING size");
    del.bind(1, static_cast<int64_t>(min_cursor));
    while (del.step()) {
      ++removed.records;
      removed.bytes += as_seq(del, 0);
    }
  }
  tx.commit();
  const uint64_t was = it->second.cursor;
  m.sinks.erase(it);
  {
    std::lock_guard lock(m.mu);
    m.records -= removed.records;
    m.bytes -= removed.bytes;
  }
  // A sink removed (or renamed: the new name starts at the newest record) with a backlog never
  // receives it: said loudly, with the count, since that is the operator's call to undo.
  const uint64_t undelivered = m.committed_seq > was ? m.committed_seq - was : 0;
  if (undelivered > 0)
    spdlog::warn(
        "outbox {}: sink '{}' removed with {} events it had not delivered (cursor at seq {}, "
        "newest {}); they will not be sent to it; {} records released",
        m.opt.path.string(), sink, undelivered, was, m.committed_seq, removed.records);
  else
    spdlog::info("outbox {}: sink '{}' removed (its cursor was at seq {}); {} records released",
                 m.opt.path.string(), sink, was, removed.records);
}

std::vector<std::string> OutboxStore::sinks() {
  std::lock_guard db_lock(impl_->db_mu);
  std::vector<std::string> out;
  for (const auto& [name, s] : impl_->sinks) out.push_back(name);
  return out;
}

std::vector<DeadLetter> OutboxStore::dead_letters(std::string_view sink, size_t max) {
  Impl& m = *impl_;
  std::vector<DeadLetter> out;
  std::lock_guard db_lock(m.db_mu);
  Stmt sel(m.db,
           "SELECT sink, seq, event_id, connection_id, reason, failed_ms, payload "
           "FROM dead_letters WHERE (?1 = 0 OR sink = ?2) ORDER BY seq, sink LIMIT ?3");
  sel.bind(1, int64_t{sink.empty() ? 0 : 1});
  sel.bind(2, sink);
  sel.bind(3, static_cast<int64_t>(std::min<size_t>(max, INT64_MAX)));
  while (sel.step()) {
    DeadLetter d;
    d.sink = sel.text(0);
    d.seq = as_seq(sel, 1);
    d.event_id = sel.text(2);
    d.connection_id = sel.text(3);
    d.reason = sel.text(4);
    d.failed_ms = outbox::column_int(sel, 5);
    if (!aead::open(m.key.get(), sel.blob(6), outbox::record_aad(d.seq), d.json)) {
      spdlog::error("outbox {}: dead letter seq {} of sink '{}' failed authentication",
                    m.opt.path.string(), d.seq, d.sink);
    }
    out.push_back(std::move(d));
  }
  return out;
}

size_t OutboxStore::retry_dead_letters(std::string_view sink, std::optional<uint64_t> seq) {
  Impl& m = *impl_;
  struct Row {
    uint64_t seq;
    std::string event_id;
    std::string connection_id;
    std::string json;
  };
  std::vector<Row> rows;
  {
    std::lock_guard db_lock(m.db_mu);
    // One row per original record: when several sinks dead-lettered it, one new record serves
    // them all.
    Stmt sel(m.db,
             "SELECT seq, event_id, connection_id, payload FROM dead_letters "
             "WHERE (?1 = 0 OR sink = ?2) AND (?3 = 0 OR seq = ?4) GROUP BY seq ORDER BY seq");
    sel.bind(1, int64_t{sink.empty() ? 0 : 1});
    sel.bind(2, sink);
    sel.bind(3, int64_t{seq ? 1 : 0});
    sel.bind(4, static_cast<int64_t>(seq.value_or(0)));
    while (sel.step()) {
      Row r{as_seq(sel, 0), sel.text(1), sel.text(2), {}};
      if (!aead::open(m.key.get(), sel.blob(3), outbox::record_aad(r.seq), r.json)) {
        spdlog::error("outbox {}: dead letter seq {} failed authentication; not retried",
                      m.opt.path.string(), r.seq);
        continue;
      }
      rows.push_back(std::move(r));
    }
  }
  // Append first and remove the dead letters only once the new records are durable: a crash in
  // between leaves a duplicate (same event id), never a loss.
  std::vector<uint64_t> retried;
  for (const Row& r : rows) {
    if (!append(r.event_id, r.connection_id, r.json)) {
      spdlog::warn("outbox {}: full; retried {} of {} dead letters", m.opt.path.string(),
                   retried.size(), rows.size());
      break;
    }
    retried.push_back(r.seq);
  }
  if (retried.empty()) return 0;
  flush();
  size_t removed = 0;
  {
    std::lock_guard db_lock(m.db_mu);
    Transaction tx(m.db);
    Stmt del(m.db, "DELETE FROM dead_letters WHERE seq = ?1 AND (?2 = 0 OR sink = ?3)");
    for (uint64_t s : retried) {
      del.bind(1, static_cast<int64_t>(s));
      del.bind(2, int64_t{sink.empty() ? 0 : 1});
      del.bind(3, sink);
      del.step();
      removed += static_cast<size_t>(sqlite3_changes(m.db.handle()));
      del.reset();
    }
    tx.commit();
    std::lock_guard lock(m.mu);
    m.dead_letter_rows -= std::min<uint64_t>(m.dead_letter_rows, removed);
  }
  return removed;
}

size_t OutboxStore::purge_dead_letters(std::string_view sink, std::optional<uint64_t> seq) {
  Impl& m = *impl_;
  std::lock_guard db_lock(m.db_mu);
  Stmt del(m.db, "DELETE FROM dead_letters WHERE (?1 = 0 OR sink = ?2) AND (?3 = 0 OR seq = ?4)");
  del.bind(1, int64_t{sink.empty() ? 0 : 1});
  del.bind(2, sink);
  del.bind(3, int64_t{seq ? 1 : 0});
  del.bind(4, static_cast<int64_t>(seq.value_or(0)));
  del.step();
  const size_t removed = static_cast<size_t>(sqlite3_changes(m.db.handle()));
  std::lock_guard lock(m.mu);
  m.dead_letter_rows -= std::min<uint64_t>(m.dead_letter_rows, removed);
  return removed;
}

OutboxStats OutboxStore::stats() {
  Impl& m = *impl_;
  OutboxStats st;
  std::lock_guard db_lock(m.db_mu);
  {
    Stmt sel(m.db, "SELECT appended_ms FROM records ORDER BY seq LIMIT 1");
    if (sel.step()) st.oldest_ms = outbox::column_int(sel, 0);
  }
  std::lock_guard lock(m.mu);
  if (st.oldest_ms == 0 && !m.queue.empty()) st.oldest_ms = m.queue.front().appended_ms;
  st.depth = m.records;
  st.bytes = m.bytes;
  st.appended = m.appended;
  st.dropped = m.dropped;
  st.refused = m.refused;
  st.corrupt = m.corrupt;
  st.dead_letters = m.dead_letter_rows;
  st.durable_seq = m.durable_seq;
  st.commits = m.commits;
  return st;
}

OutboxCommitHealth OutboxStore::commit_health() {
  std::lock_guard lock(impl_->mu);
  return impl_->commit_health;
}

bool OutboxStore::commit_failing() const {
  return impl_->commit_failing.load(std::memory_order_relaxed);
}

}  // namespace oemlink::store
