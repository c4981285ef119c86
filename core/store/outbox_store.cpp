// OutboxStore's public calls and the sink cursors. The writer thread is in outbox_writer.cpp,
// dead letters in outbox_dead_letters.cpp; the state they share in outbox_store_impl.hpp.
#include "core/store/outbox_store_impl.hpp"

#include <spdlog/spdlog.h>

#include "core/common/aead.hpp"

#include <algorithm>

namespace oemlink::store {

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
