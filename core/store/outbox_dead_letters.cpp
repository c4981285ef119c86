// Dead letters: a record a sink refused for good moved aside with its reason, listed, retried
// (back into the outbox under a new seq) or purged.
#include "core/store/outbox_store_impl.hpp"

#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include "core/common/aead.hpp"

#include <algorithm>

namespace oemlink::store {
namespace {

constexpr size_t kMaxReasonBytes = 4096;

// Cuts at a UTF-8 character boundary so the stored reason stays valid text.
std::string truncate_utf8(std::string_view s, size_t max) {
  if (s.size() <= max) return std::string(s);
  size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  return std::string(s.substr(0, cut));
}

}  // namespace

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

}  // namespace oemlink::store
