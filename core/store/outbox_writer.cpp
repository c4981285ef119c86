// The outbox's writer thread: queued appends sealed and group-committed, evictions at the size
// cap, and the rate-limited lines about drops and failed commits.
#include "core/store/outbox_store_impl.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "core/common/aead.hpp"

namespace oemlink::store {
namespace {

using namespace std::chrono_literals;

// Drops and commit failures can happen thousands of times a second; one line per interval says
// the same thing without flooding the journal.
constexpr auto kLogInterval = 10s;

}  // namespace

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

}  // namespace oemlink::store
