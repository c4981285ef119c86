#include "core/store/outbox_db.hpp"
#include "core/common/wall_clock.hpp"

#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstring>

#include "core/common/aead.hpp"
#include "core/common/private_files.hpp"

namespace oemlink::store::outbox {
namespace {

namespace fs = std::filesystem;

constexpr int kBusyTimeoutMs = 10'000;

// Sealed under the data key when the outbox is created, so a wrong key is reported at startup
// rather than as every record "corrupt" on the first read.
constexpr std::string_view kKeyCheckPlain = "oemlink outbox key check v1";
constexpr std::string_view kKeyCheckAad = "outbox:key_check";

// event_id and connection_id are stored in clear: the deliverer orders by connection and the
// ingest side deduplicates by event id, and neither reveals readings. The event JSON (readings,
// location) is only ever stored sealed in `payload`.
constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS meta(
  name TEXT PRIMARY KEY,
  value NOT NULL
);
CREATE TABLE IF NOT EXISTS records(
  seq INTEGER PRIMARY KEY,
  event_id TEXT NOT NULL,
  connection_id TEXT NOT NULL,
  appended_ms INTEGER NOT NULL,
  size INTEGER NOT NULL,
  payload BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS cursors(
  sink TEXT PRIMARY KEY,
  seq INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS sink_acks(
  sink TEXT NOT NULL,
  seq INTEGER NOT NULL,
  PRIMARY KEY(sink, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS dead_letters(
  sink TEXT NOT NULL,
  seq INTEGER NOT NULL,
  event_id TEXT NOT NULL,
  connection_id TEXT NOT NULL,
  reason TEXT NOT NULL,
  failed_ms INTEGER NOT NULL,
  payload BLOB NOT NULL,
  PRIMARY KEY(sink, seq)
);
CREATE TABLE IF NOT EXISTS corrupt(
  seq INTEGER NOT NULL,
  event_id TEXT,
  connection_id TEXT,
  moved_ms INTEGER NOT NULL,
  payload BLOB
);
)sql";

void configure(Db& db) {
  sqlite3_busy_timeout(db.handle(), kBusyTimeoutMs);
  {
    Stmt wal(db, "PRAGMA journal_mode=WAL");
    if (!wal.step() || wal.text(0) != "wal") fail(db, "cannot switch to WAL journal mode");
  }
  // FULL: in WAL mode the WAL is fsynced at every commit, so a reported durable_seq survives
  // power loss, not just a process crash.
  db.exec("PRAGMA synchronous=FULL");
  // The database file is untrusted input (it may have been copied or edited).
  db.exec("PRAGMA trusted_schema=OFF");
}

int64_t scalar(Db& db, const char* sql) {
  Stmt s(db, sql);
  return s.step() ? column_int(s, 0) : 0;
}

void check_schema_version(Db& db) {
  Stmt sel(db, "SELECT value FROM meta WHERE name = 'schema_version'");
  if (sel.step()) {
    int64_t v = column_int(sel, 0);
    if (v > kSchemaVersion) {
      fail(db, "was written by a newer oemlink (outbox schema " + std::to_string(v) + ")");
    }
    return;
  }
  Stmt ins(db, "INSERT INTO meta(name, value) VALUES('schema_version', ?1)");
  ins.bind(1, int64_t{kSchemaVersion});
  ins.step();
}

void check_key(Db& db, const DataKey& key) {
  Stmt sel(db, "SELECT value FROM meta WHERE name = 'key_check'");
  if (sel.step()) {
    std::string plain;
    if (!aead::open(key, sel.blob(0), kKeyCheckAad, plain) || plain != kKeyCheckPlain) {
      fail(db, "data key does not match the one this outbox was created with");
    }
    return;
  }
  // Stamping a key onto an outbox that already holds sealed events would make them all look
  // corrupt; refuse instead of guessing.
  if (scalar(db, "SELECT EXISTS(SELECT 1 FROM records) OR EXISTS(SELECT 1 FROM dead_letters)")) {
    fail(db, "holds events but no key check value; refusing to guess the key");
  }
  std::vector<uint8_t> check = aead::seal(key, kKeyCheckPlain, kKeyCheckAad);
  Stmt ins(db, "INSERT INTO meta(name, value) VALUES('key_check', ?1)");
  ins.bind(1, check);
  ins.step();
}

// Sequence numbers are never reused, even after every record was deleted: the high-water mark
// lives in meta and every table that keeps a seq is consulted as well.
uint64_t high_seq(Db& db) {
  return static_cast<uint64_t>(scalar(db,
                                      "SELECT MAX("
                                      " COALESCE((SELECT value FROM meta WHERE name='high_seq'),0),"
                                      " COALESCE((SELECT MAX(seq) FROM records),0),"
                                      " COALESCE((SELECT MAX(seq) FROM dead_letters),0),"
                                      " COALESCE((SELECT MAX(seq) FROM corrupt),0),"
                                      " COALESCE((SELECT MAX(seq) FROM cursors),0))"));
}

void reconcile_cursors(Db& db, const std::vector<std::string>& sinks, OpenState& state) {
  std::map<std::string, uint64_t, std::less<>> stored;
  {
    Stmt sel(db, "SELECT sink, seq FROM cursors");
    while (sel.step()) stored[sel.text(0)] = static_cast<uint64_t>(column_int(sel, 1));
  }
  // A sink that is no longer configured would pin every record forever.
  for (const auto& [sink, seq] : stored) {
    if (std::find(sinks.begin(), sinks.end(), sink) != sinks.end()) continue;
    Stmt del(db, "DELETE FROM cursors WHERE sink = ?1");
    del.bind(1, sink);
    del.step();
    Stmt del_acks(db, "DELETE FROM sink_acks WHERE sink = ?1");
    del_acks.bind(1, sink);
    del_acks.step();
    spdlog::warn("outbox {}: sink '{}' is no longer configured; dropped its cursor (at seq {})",
                 db.path().string(), sink, seq);
  }
  // A new sink receives everything still stored.
  const int64_t min_seq = scalar(db, "SELECT MIN(seq) FROM records");
  const uint64_t start = min_seq > 0 ? static_cast<uint64_t>(min_seq) - 1 : state.high_seq;
  for (const std::string& sink : sinks) {
    if (state.cursors.contains(sink)) continue;  // listed twice
    if (auto it = stored.find(sink); it != stored.end()) {
      state.cursors[sink] = it->second;
      continue;
    }
    Stmt ins(db, "INSERT INTO cursors(sink, seq) VALUES(?1, ?2)");
    ins.bind(1, sink);
    ins.bind(2, static_cast<int64_t>(start));
    ins.step();
    state.cursors[sink] = start;
    spdlog::info("outbox {}: new sink '{}' starts after seq {}", db.path().string(), sink, start);
  }
  // Acknowledgements past a cursor (other connections' records still outstanding below it):
  // kept on disk, so a restart re-sends only what was really in flight.
  {
    Stmt sel(db, "SELECT sink, seq FROM sink_acks ORDER BY sink, seq");
    while (sel.step()) {
      std::string sink = sel.text(0);
      auto seq = static_cast<uint64_t>(column_int(sel, 1));
      auto it = state.cursors.find(sink);
      if (it != state.cursors.end() && seq > it->second) state.acked[sink].push_back(seq);
    }
  }
  // Dropping a sink may have released records only it was holding.
  if (!state.cursors.empty()) {
    uint64_t min_cursor = UINT64_MAX;
    for (const auto& [sink, seq] : state.cursors) min_cursor = std::min(min_cursor, seq);
    Stmt del(db, "DELETE FROM records WHERE seq <= ?1");
    del.bind(1, static_cast<int64_t>(min_cursor));
    del.step();
  }
}

}  // namespace

void precreate_private_file(const fs::path& path) {
  try {
    create_private_file(path);
  } catch (const FileError& e) {
    throw StoreError(std::string("outbox: ") + e.what());
  }
}

OpenState open(Db& db, const DataKey& key, const std::vector<std::string>& sinks) {
  for (const std::string& sink : sinks) {
    if (sink.empty()) fail(db, "a sink name is empty");
  }
  configure(db);
  Transaction tx(db);
  db.exec(kSchema);
  check_schema_version(db);
  check_key(db, key);

  OpenState state;
  state.high_seq = high_seq(db);
  reconcile_cursors(db, sinks, state);
  {
    Stmt s(db, "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM records");
    s.step();
    state.records = static_cast<uint64_t>(column_int(s, 0));
    state.bytes = static_cast<uint64_t>(column_int(s, 1));
  }
  state.dead_letters = static_cast<uint64_t>(scalar(db, "SELECT COUNT(*) FROM dead_letters"));
  tx.commit();
  return state;
}

std::string record_aad(uint64_t seq) {
  return "outbox:" + std::to_string(seq);
}

int64_t column_int(const Stmt& stmt, int column) {
  std::string text = stmt.text(column);
  int64_t value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value);
  return value;
}

int64_t now_ms() {
  return unix_ms();
}

void fail(const Db& db, std::string_view what) {
  throw StoreError("outbox " + db.path().string() + ": " + std::string(what));
}

}  // namespace oemlink::store::outbox
