#include "core/store/connection_store.hpp"

#include "core/common/private_files.hpp"
#include "core/store/connection_store_impl.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <ctime>
#include <limits>

namespace oemlink::store {
namespace {

namespace fs = std::filesystem;
using connection_db::BulkWriteCache;
using connection_db::guarded;
using connection_db::utc_time;

constexpr int64_t kSchemaVersion = 1;
constexpr int kBusyTimeoutMs = 10'000;
constexpr const char* kLabel = "connection store";

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS meta(
  key TEXT PRIMARY KEY,
  value NOT NULL
);
CREATE TABLE IF NOT EXISTS connections(
  id TEXT PRIMARY KEY,
  driver TEXT NOT NULL,
  vehicle_id TEXT NOT NULL DEFAULT '',
  vin TEXT NOT NULL DEFAULT '',
  display_name TEXT NOT NULL DEFAULT '',
  identifiers_json TEXT NOT NULL DEFAULT '{}',
  vehicle_token_id INTEGER,
  synthetic_token_id INTEGER,
  key_child INTEGER NOT NULL UNIQUE,
  poll_interval_ms INTEGER,
  state TEXT NOT NULL,
  reason TEXT NOT NULL DEFAULT '',
  changed_ms INTEGER,
  created_ms INTEGER,
  source TEXT NOT NULL,
  mint_json TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX IF NOT EXISTS connections_live_vehicle ON connections(driver, vehicle_id)
  WHERE vehicle_id != '' AND state != 'revoked';
CREATE UNIQUE INDEX IF NOT EXISTS connections_live_vin ON connections(driver, vin)
  WHERE vin != '' AND state != 'revoked';
CREATE INDEX IF NOT EXISTS connections_state ON connections(state, id);
)sql";

// String literals, so statements can be concatenated at compile time and outlive their Stmt.
#define OEMLINK_ROW_COLUMNS                                                                  \
  "id, driver, vehicle_id, vin, display_name, identifiers_json, vehicle_token_id, "          \
  "synthetic_token_id, key_child, poll_interval_ms, state, reason, changed_ms, created_ms, " \
  "source, mint_json"
#define OEMLINK_SELECT_ROW "SELECT " OEMLINK_ROW_COLUMNS " FROM connections "

void read_row(const Stmt& s, StoredConnection& r) {
  r.id = s.text_view(0);
  r.driver = s.text_view(1);
  r.vehicle_id = s.text_view(2);
  r.vin = s.text_view(3);
  r.display_name = s.text_view(4);
  r.identifiers_json = s.text_view(5);
  r.vehicle_token_id = static_cast<uint64_t>(s.integer(6));
  r.synthetic_token_id = static_cast<uint64_t>(s.integer(7));
  r.key_child = static_cast<uint32_t>(s.integer(8));
  r.poll_interval_ms = s.integer(9);
  r.state = s.text_view(10);
  r.reason = s.text_view(11);
  r.changed_ms = s.integer(12);
  r.created_ms = s.integer(13);
  r.source = s.text_view(14);
  r.mint_json = s.text_view(15);
}

std::optional<StoredConnection> one_row(Stmt& s) {
  std::optional<StoredConnection> out;
  if (s.step()) read_row(s, out.emplace());
  s.reset();
  return out;
}

void configure(Db& db) {
  sqlite3_busy_timeout(db.handle(), kBusyTimeoutMs);
  // The file is untrusted input (it may have been copied or edited).
  db.exec("PRAGMA trusted_schema=OFF");
}

}  // namespace

std::string connection_db::utc_time(int64_t ms) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

void ConnectionStore::Impl::open_writer() {
  writer = std::make_unique<Db>(path, kLabel);
  if (sqlite3_db_readonly(writer->handle(), "main") == 1)
    writer->fail_plain("is read-only to this user (check its owner and mode)");
  configure(*writer);
  {
    Stmt wal(*writer, "PRAGMA journal_mode=WAL");
    if (!wal.step() || wal.text(0) != "wal")
      writer->fail_plain("cannot switch to WAL journal mode");
  }
  // FULL: in WAL mode the WAL is fsynced at every commit, so a connection the daemon reported
  // created (and whose key child it claimed) survives power loss.
  writer->exec("PRAGMA synchronous=FULL");
  {
    Transaction tx(*writer);
    writer->exec(kSchema);
    Stmt sel(*writer, "SELECT value FROM meta WHERE key = 'schema_version'");
    if (sel.step()) {
      if (int64_t v = sel.integer(0); v > kSchemaVersion)
        writer->fail_plain("was written by a newer oemlink (connection store schema " +
                           std::to_string(v) + ")");
    } else {
      Stmt ins(*writer, "INSERT INTO meta(key, value) VALUES('schema_version', ?1)");
      ins.bind(1, kSchemaVersion);
      ins.step();
    }
    tx.commit();
  }
  insert = std::make_unique<Stmt>(
      *writer, "INSERT INTO connections(" OEMLINK_ROW_COLUMNS
               ") VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)");
  w_by_id = std::make_unique<Stmt>(*writer, OEMLINK_SELECT_ROW "WHERE id = ?1");
  w_by_child = std::make_unique<Stmt>(*writer, OEMLINK_SELECT_ROW "WHERE key_child = ?1");
  w_live_vehicle = std::make_unique<Stmt>(
      *writer, OEMLINK_SELECT_ROW
      "WHERE driver = ?1 AND vehicle_id = ?2 AND vehicle_id != '' AND state != 'revoked'");
  w_live_vin =
      std::make_unique<Stmt>(*writer, OEMLINK_SELECT_ROW
                             "WHERE driver = ?1 AND vin = ?2 AND vin != '' AND state != 'revoked'");
  state_of =
      std::make_unique<Stmt>(*writer, "SELECT state, changed_ms FROM connections WHERE id = ?1");
  set_state = std::make_unique<Stmt>(
      *writer, "UPDATE connections SET state = ?2, reason = ?3, changed_ms = ?4 WHERE id = ?1");
  set_tokens = std::make_unique<Stmt>(
      *writer,
      "UPDATE connections SET vehicle_token_id = COALESCE(?2, vehicle_token_id),"
      " synthetic_token_id = COALESCE(?3, synthetic_token_id) WHERE id = ?1");
  mint_set = std::make_unique<Stmt>(
      *writer, "UPDATE connections SET mint_json = ?2 WHERE id = ?1 AND mint_json = ''");
  mint_get = std::make_unique<Stmt>(*writer, "SELECT mint_json FROM connections WHERE id = ?1");
}

void ConnectionStore::Impl::open_reader() {
  reader = std::make_unique<Db>(path, kLabel);
  configure(*reader);
  get = std::make_unique<Stmt>(*reader, OEMLINK_SELECT_ROW "WHERE id = ?1");
  live_vehicle = std::make_unique<Stmt>(
      *reader, OEMLINK_SELECT_ROW
      "WHERE driver = ?1 AND vehicle_id = ?2 AND vehicle_id != '' AND state != 'revoked'");
  live_vin =
      std::make_unique<Stmt>(*reader, OEMLINK_SELECT_ROW
                             "WHERE driver = ?1 AND vin = ?2 AND vin != '' AND state != 'revoked'");
  page_all =
      std::make_unique<Stmt>(*reader, OEMLINK_SELECT_ROW "WHERE id > ?1 ORDER BY id LIMIT ?2");
  page_state = std::make_unique<Stmt>(
      *reader, OEMLINK_SELECT_ROW "WHERE state = ?3 AND id > ?1 ORDER BY id LIMIT ?2");
  count_all = std::make_unique<Stmt>(*reader, "SELECT COUNT(*) FROM connections");
  count_state =
      std::make_unique<Stmt>(*reader, "SELECT COUNT(*) FROM connections WHERE state = ?1");
  count_live =
      std::make_unique<Stmt>(*reader, "SELECT COUNT(*) FROM connections WHERE state != 'revoked'");
  counts =
      std::make_unique<Stmt>(*reader, "SELECT state, COUNT(*) FROM connections GROUP BY state");
}

void ConnectionStore::Impl::bind_row(Stmt& s, const StoredConnection& r) {
  s.bind(1, r.id);
  s.bind(2, r.driver);
  s.bind(3, r.vehicle_id);
  s.bind(4, r.vin);
  s.bind(5, r.display_name);
  s.bind(6, r.identifiers_json.empty() ? std::string_view("{}") : r.identifiers_json);
  // Unbound parameters are NULL: an unknown token id, the driver's poll interval.
  if (r.vehicle_token_id) s.bind(7, static_cast<int64_t>(r.vehicle_token_id));
  if (r.synthetic_token_id) s.bind(8, static_cast<int64_t>(r.synthetic_token_id));
  s.bind(9, int64_t{r.key_child});
  if (r.poll_interval_ms > 0) s.bind(10, r.poll_interval_ms);
  s.bind(11, r.state);
  s.bind(12, r.reason);
  s.bind(13, r.changed_ms);
  s.bind(14, r.created_ms);
  s.bind(15, r.source);
  s.bind(16, r.mint_json);
}

std::string ConnectionStore::Impl::insert_row(const StoredConnection& r) {
  if (r.id.empty()) return "the connection id is empty";
  if (r.driver.empty()) return "connection " + r.id + ": the driver is empty";
  bind_row(*insert, r);
  bool violated = false;
  insert->step(violated);
  insert->reset();
  return violated ? conflict(r, /*row_exists=*/false) : std::string();
}

std::string ConnectionStore::Impl::conflict(const StoredConnection& r, bool row_exists) {
  if (!row_exists) {
    w_by_id->bind(1, r.id);
    if (auto o = one_row(*w_by_id))
      return "connection " + r.id + " exists (" + o->source + ", " + o->state + ")";
  }
  w_by_child->bind(1, int64_t{r.key_child});
  if (auto o = one_row(*w_by_child); o && o->id != r.id)
    return "key child " + std::to_string(r.key_child) + " belongs to connection " + o->id;
  if (r.state != "revoked" && !r.vehicle_id.empty()) {
    w_live_vehicle->bind(1, r.driver);
    w_live_vehicle->bind(2, r.vehicle_id);
    if (auto o = one_row(*w_live_vehicle); o && o->id != r.id)
      return "vehicle " + r.vehicle_id + " of driver " + r.driver + " already has connection " +
             o->id + " (" + o->state + ")";
  }
  if (r.state != "revoked" && !r.vin.empty()) {
    w_live_vin->bind(1, r.driver);
    w_live_vin->bind(2, r.vin);
    if (auto o = one_row(*w_live_vin); o && o->id != r.id)
      return "VIN " + r.vin + " of driver " + r.driver + " already has connection " + o->id + " (" +
             o->state + ")";
  }
  return "refused by the database's constraints";
}

ConnectionStore::ConnectionStore(const fs::path& db_file) : impl_(std::make_unique<Impl>()) {
  impl_->path = db_file;
  try {
    create_private_file(db_file);
  } catch (const FileError& e) {
    throw ConnectionStoreError(std::string("connection store: ") + e.what());
  }
  guarded([&] {
    impl_->open_writer();
    impl_->open_reader();
  });
}

ConnectionStore::~ConnectionStore() = default;

const fs::path& ConnectionStore::path() const {
  return impl_->path;
}

void ConnectionStore::for_each(const std::function<bool(const StoredConnection&)>& fn) {
  std::lock_guard lock(impl_->read_mu);
  std::unique_ptr<Stmt> scan = guarded(
      [&] { return std::make_unique<Stmt>(*impl_->reader, OEMLINK_SELECT_ROW "ORDER BY rowid"); });
  StoredConnection row;  // one object for every row: its strings keep their capacity
  while (guarded([&] { return scan->step(); })) {
    read_row(*scan, row);
    if (!fn(row)) break;
  }
}

std::optional<StoredConnection> ConnectionStore::get(std::string_view id) {
  std::lock_guard lock(impl_->read_mu);
  return guarded([&] {
    impl_->get->bind(1, id);
    return one_row(*impl_->get);
  });
}

std::optional<StoredConnection> ConnectionStore::find_vehicle(std::string_view driver,
                                                              std::string_view vehicle_id,
                                                              std::string_view vin) {
  std::lock_guard lock(impl_->read_mu);
  return guarded([&]() -> std::optional<StoredConnection> {
    if (!vehicle_id.empty()) {
      impl_->live_vehicle->bind(1, driver);
      impl_->live_vehicle->bind(2, vehicle_id);
      if (auto r = one_row(*impl_->live_vehicle)) return r;
    }
    if (vin.empty()) return std::nullopt;
    impl_->live_vin->bind(1, driver);
    impl_->live_vin->bind(2, vin);
    return one_row(*impl_->live_vin);
  });
}

std::vector<std::string> ConnectionStore::insert(std::span<const StoredConnection> rows) {
  return guarded([&] {
    std::vector<std::string> out;
    out.reserve(rows.size());
    std::lock_guard lock(impl_->write_mu);
    BulkWriteCache cache(*impl_->writer, rows.size());
    Transaction tx(*impl_->writer);
    for (const StoredConnection& r : rows) out.push_back(impl_->insert_row(r));
    tx.commit();
    return out;
  });
}

bool ConnectionStore::set_state(std::string_view id, std::string_view state,
                                std::string_view reason, int64_t now_ms) {
  return guarded([&] {
    std::lock_guard lock(impl_->write_mu);
    Transaction tx(*impl_->writer);
    Stmt& cur = *impl_->state_of;
    cur.bind(1, id);
    if (!cur.step()) {
      cur.reset();
      return false;
    }
    std::string current = cur.text(0);
    int64_t changed = cur.integer(1);
    cur.reset();
    if (current == "revoked") {
      if (state == "revoked") return true;
      throw ConnectionStoreError("connection " + std::string(id) + " was revoked at " +
                                 utc_time(changed) + "; it cannot become " + std::string(state));
    }
    Stmt& upd = *impl_->set_state;
    upd.bind(1, id);
    upd.bind(2, state);
    upd.bind(3, reason);
    upd.bind(4, now_ms);
    upd.step();
    upd.reset();
    tx.commit();
    return true;
  });
}

bool ConnectionStore::set_tokens(std::string_view id, uint64_t vehicle_token_id,
                                 uint64_t synthetic_token_id) {
  return guarded([&] {
    std::lock_guard lock(impl_->write_mu);
    Stmt& upd = *impl_->set_tokens;
    upd.bind(1, id);
    if (vehicle_token_id) upd.bind(2, static_cast<int64_t>(vehicle_token_id));
    if (synthetic_token_id) upd.bind(3, static_cast<int64_t>(synthetic_token_id));
    upd.step();
    upd.reset();
    return sqlite3_changes(impl_->writer->handle()) > 0;
  });
}

std::optional<std::string> ConnectionStore::set_mint_once(std::string_view id,
                                                          std::string_view mint_json) {
  return guarded([&]() -> std::optional<std::string> {
    std::lock_guard lock(impl_->write_mu);
    Transaction tx(*impl_->writer);
    Stmt& upd = *impl_->mint_set;
    upd.bind(1, id);
    upd.bind(2, mint_json);
    upd.step();
    upd.reset();
    Stmt& sel = *impl_->mint_get;
    sel.bind(1, id);
    std::optional<std::string> out;
    if (sel.step()) out = sel.text(0);
    sel.reset();
    tx.commit();
    return out;
  });
}

std::vector<StoredConnection> ConnectionStore::page(std::string_view after, size_t limit,
                                                    std::string_view state) {
  std::lock_guard lock(impl_->read_mu);
  return guarded([&] {
    std::vector<StoredConnection> out;
    Stmt& s = state.empty() ? *impl_->page_all : *impl_->page_state;
    s.bind(1, after);
    s.bind(2, static_cast<int64_t>(
                  std::min<uint64_t>(limit, uint64_t(std::numeric_limits<int64_t>::max()))));
    if (!state.empty()) s.bind(3, state);
    while (s.step()) read_row(s, out.emplace_back());
    s.reset();
    return out;
  });
}

size_t ConnectionStore::count(std::string_view state) {
  std::lock_guard lock(impl_->read_mu);
  return guarded([&] {
    Stmt& s = state.empty() ? *impl_->count_all : *impl_->count_state;
    if (!state.empty()) s.bind(1, state);
    size_t n = s.step() ? static_cast<size_t>(s.integer(0)) : 0;
    s.reset();
    return n;
  });
}

size_t ConnectionStore::count_live() {
  std::lock_guard lock(impl_->read_mu);
  return guarded([&] {
    Stmt& s = *impl_->count_live;
    size_t n = s.step() ? static_cast<size_t>(s.integer(0)) : 0;
    s.reset();
    return n;
  });
}

std::map<std::string, size_t> ConnectionStore::counts_by_state() {
  std::lock_guard lock(impl_->read_mu);
  return guarded([&] {
    std::map<std::string, size_t> out;
    Stmt& s = *impl_->counts;
    while (s.step()) out[s.text(0)] = static_cast<size_t>(s.integer(1));
    s.reset();
    return out;
  });
}

}  // namespace oemlink::store
