// ConnectionStore: every connection the daemon serves, durable in <data_dir>/connections.db
// (SQLite, WAL, synchronous=FULL, mode 0600). The YAML's connections are reconciled into it at
// start; linked and API-added ones live only here. It holds no secret (tokens are in the
// SecretStore, keys in the vault): ids, the maker's vehicle id, VIN, token ids, the key child, the
// state with its reason and time, and the mint request once made.
//
//   meta(key TEXT PRIMARY KEY, value NOT NULL)             -- schema_version = 1
//   connections(id TEXT PRIMARY KEY, driver TEXT NOT NULL, vehicle_id TEXT NOT NULL DEFAULT '',
//               vin TEXT NOT NULL DEFAULT '', display_name TEXT NOT NULL DEFAULT '',
//               identifiers_json TEXT NOT NULL DEFAULT '{}', vehicle_token_id INTEGER,
//               synthetic_token_id INTEGER, key_child INTEGER NOT NULL UNIQUE,
//               poll_interval_ms INTEGER, state TEXT NOT NULL, reason TEXT NOT NULL DEFAULT '',
//               changed_ms INTEGER, created_ms INTEGER, source TEXT NOT NULL,
//               mint_json TEXT NOT NULL DEFAULT '')
//   UNIQUE (driver, vehicle_id) WHERE vehicle_id != '' AND state != 'revoked'
//   UNIQUE (driver, vin)        WHERE vin != '' AND state != 'revoked'
//   (state, id)                 for page(), count() and counts_by_state() by state
// The two partial unique indexes make "a car has at most one live connection per driver" hold in
// the database itself, whoever writes. Unknown token ids and the driver's poll interval are NULL
// (read as 0).
//
// Threading: every method may be called from any thread. Writes (reconcile_config, insert, set_*)
// go through one SQLite connection, one at a time; reads (for_each, get, find_vehicle, page,
// count*) through a second one, so with WAL a read never waits for a write transaction. A
// for_each callback may call any other method (reads nest; writes use the other connection).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace oemlink::config {
struct ConnectionConfig;
}

namespace oemlink::store {

// One row. `state` and `source` are the names of host::ConnectionState / ConnectionSource
// ("active", "paused", ...; "config", "linked", "api"): the store does not interpret them beyond
// "revoked" (never live again) and "config" (owned by the YAML).
struct StoredConnection {
  std::string id;
  std::string driver;
  std::string vehicle_id;
  std::string vin;
  std::string display_name;
  std::string identifiers_json = "{}";
  uint64_t vehicle_token_id = 0;
  uint64_t synthetic_token_id = 0;
  uint32_t key_child = 0;
  int64_t poll_interval_ms = 0;  // 0: the driver's
  std::string state = "active";
  std::string reason;
  int64_t changed_ms = 0;
  int64_t created_ms = 0;
  std::string source = "config";
  std::string mint_json;
};

// What reconcile_config did, for the start-up log line.
struct ReconcileReport {
  size_t inserted = 0;  // YAML connections new to the store
  size_t updated = 0;   // YAML connections whose fields changed (driver, vin, identifiers, ...)
  size_t unchanged = 0;
  size_t removed = 0;  // rows from the YAML that left it (their key child stays claimed)
  // YAML connections not taken, each "id: why" (revoked earlier; id owned by a linked
  // connection; key child owned by another row).
  std::vector<std::string> refused;
  // Parallel to `refused`: each one's index in the YAML span (for its file position).
  std::vector<size_t> refused_at;
  // Only with `list_ids` (a reload, which must act on each): the ids behind the counts above.
  std::vector<std::string> inserted_ids, updated_ids, removed_ids;
};

// Every failure of the database (corrupt file, no permission, disk full) is thrown as this, with
// the file's path in the message; never a value of a row.
class ConnectionStoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class ConnectionStore {
 public:
  // Opens or creates the database. Throws ConnectionStoreError naming the path.
  explicit ConnectionStore(const std::filesystem::path& db_file);
  ~ConnectionStore();
  ConnectionStore(const ConnectionStore&) = delete;
  ConnectionStore& operator=(const ConnectionStore&) = delete;

  // Makes the store's "config" rows match the YAML, in one transaction: inserts new ones (state
  // active), updates changed fields but never the state (a paused YAML connection stays paused
  // across restarts), deletes "config" rows the YAML no longer lists, and refuses a YAML
  // connection whose id belongs to a non-config row or whose row is revoked.
  // Fields compared: driver, vin, identifiers, key_child, poll_interval, and the token ids the
  // YAML gives (0 in the YAML keeps a stored id: one recorded with set_tokens survives).
  // A revoked "config" row is kept when the YAML drops it, so the id can never come back.
  // A change the unique indexes refuse (the VIN of another live connection, another row's key
  // child) is refused and the row is left as it was. Throws ConnectionStoreError.
  // With `list_ids` the report also names the connections inserted, updated and removed (a
  // reload; a start with a million rows does not keep their ids).
  ReconcileReport reconcile_config(std::span<const config::ConnectionConfig> yaml, int64_t now_ms,
                                   bool list_ids = false);

  // Every row, in insertion order (rowid), streamed: a million rows are never all in one vector
  // here. Revoked rows are included (the caller decides); `fn` returning false stops.
  void for_each(const std::function<bool(const StoredConnection&)>& fn);

  std::optional<StoredConnection> get(std::string_view id);
  // The non-revoked row of a car of `driver`: by vehicle_id when not empty; when that finds none
  // (or is empty), by VIN when not empty. A YAML connection knows only the VIN, so linking the
  // same car finds it.
  std::optional<StoredConnection> find_vehicle(std::string_view driver, std::string_view vehicle_id,
                                               std::string_view vin);

  // Inserts rows in one transaction. Returns, per row, "" when inserted or why not (id exists;
  // car already has a live connection; key child taken). The others are inserted.
  std::vector<std::string> insert(std::span<const StoredConnection> rows);

  // Each returns false when no row has `id`. set_state() refuses to move a revoked row to another
  // state (throws ConnectionStoreError); revoked -> revoked is a no-op.
  bool set_state(std::string_view id, std::string_view state, std::string_view reason,
                 int64_t now_ms);
  bool set_tokens(std::string_view id, uint64_t vehicle_token_id, uint64_t synthetic_token_id);
  // Stores the mint request unless one is stored; returns the stored one (new or old), or nullopt
  // without the row.
  std::optional<std::string> set_mint_once(std::string_view id, std::string_view mint_json);

  // Ordered by id, `after` exclusive; `state` empty: all.
  std::vector<StoredConnection> page(std::string_view after, size_t limit, std::string_view state);
  size_t count(std::string_view state = {});
  // Rows that are not revoked: the connections a start serves (or holds paused).
  size_t count_live();
  std::map<std::string, size_t> counts_by_state();

  const std::filesystem::path& path() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace oemlink::store
