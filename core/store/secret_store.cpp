#include "core/store/secret_store.hpp"
#include "core/common/wall_clock.hpp"

#include <sqlite3.h>

#include <chrono>
#include <mutex>
#include <vector>

#include "core/common/aead.hpp"
#include "core/common/locked_buffer.hpp"
#include "core/common/private_files.hpp"
#include "core/common/secure_wipe.hpp"
#include "core/store/sqlite_db.hpp"

namespace oemlink::store {
namespace {

namespace fs = std::filesystem;

constexpr int kSchemaVersion = 1;
constexpr int kBusyTimeoutMs = 10'000;

// Sealed under the data key when the store is created; a key that cannot open it is the wrong
// key, which we want to report at startup rather than on the first token refresh.
constexpr std::string_view kKeyCheckPlain = "oemlink secret store key check v1";
constexpr std::string_view kKeyCheckAad{"oemlink-store\0key_check", 23};

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS meta(
  name TEXT PRIMARY KEY,
  value BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS secrets(
  connection TEXT NOT NULL,
  key TEXT NOT NULL,
  value BLOB NOT NULL,
  updated_ms INTEGER NOT NULL,
  PRIMARY KEY(connection, key)
);
)sql";

int64_t now_ms() {
  return unix_ms();
}

// A NUL inside an id would make "conn\0key" ambiguous as associated data.
void check_name(const Db& db, std::string_view what, std::string_view name) {
  if (name.empty()) db.fail_plain(std::string(what) + " is empty");
  if (name.find('\0') != std::string_view::npos) {
    db.fail_plain(std::string(what) + " contains a NUL byte");
  }
}

std::string associated_data(std::string_view connection, std::string_view key) {
  std::string aad;
  aad.reserve(connection.size() + 1 + key.size());
  aad.append(connection).push_back('\0');
  aad.append(key);
  return aad;
}

// So the database and its -wal/-shm files are 0600 even under a permissive umask.
void precreate_private_file(const fs::path& path) {
  try {
    create_private_file(path);
  } catch (const FileError& e) {
    throw StoreError(std::string("secret store: ") + e.what());
  }
}

}  // namespace

struct SecretStore::Impl {
  Impl(const fs::path& path, const DataKey& data_key) : key(data_key), db(prepare(path)) {}

  static const fs::path& prepare(const fs::path& path) {
    precreate_private_file(path);
    return path;
  }

  void configure();
  void check_key();
  void checkpoint_truncate();

  LockedDataKey key;
  Db db;
  std::mutex mu;
};

void SecretStore::Impl::configure() {
  sqlite3_busy_timeout(db.handle(), kBusyTimeoutMs);
  {
    Stmt wal(db, "PRAGMA journal_mode=WAL");
    if (!wal.step() || wal.text(0) != "wal") db.fail_plain("cannot switch to WAL journal mode");
  }
  // FULL: in WAL mode the WAL is fsynced at every commit, so put() returning means on disk.
  db.exec("PRAGMA synchronous=FULL");
  // The database file is untrusted input (it may have been copied or edited).
  db.exec("PRAGMA trusted_schema=OFF");
  // Deleted or overwritten values are zeroed in their pages (and so in the WAL frames that carry
  // those pages), instead of lingering in free space after a car is unlinked.
  db.exec("PRAGMA secure_delete=ON");
}

// Moves the WAL into the database and truncates it to zero bytes: the frames that still carry
// a deleted value's earlier page images leave the -wal file. Throws when a reader kept it from
// completing (the caller's erase then reports failure rather than claiming a wipe it did not do).
void SecretStore::Impl::checkpoint_truncate() {
  Stmt cp(db, "PRAGMA wal_checkpoint(TRUNCATE)");
  if (cp.step() && cp.text(0) != "0")
    db.fail_plain("could not checkpoint the WAL after erasing secrets (a reader is active)");
}

void SecretStore::Impl::check_key() {
  Transaction tx(db);
  int version = 0;
  {
    Stmt v(db, "PRAGMA user_version");
    if (v.step()) version = std::stoi(v.text(0));
  }
  if (version > kSchemaVersion) {
    db.fail_plain("was written by a newer oemlink (schema " + std::to_string(version) + ")");
  }
  db.exec(kSchema);
  if (version == 0) db.exec("PRAGMA user_version=1");

  Stmt sel(db, "SELECT value FROM meta WHERE name = 'key_check'");
  if (sel.step()) {
    std::string plain;
    if (!aead::open(key.get(), sel.blob(0), kKeyCheckAad, plain) || plain != kKeyCheckPlain) {
      db.fail_plain("data key does not match the one this store was created with");
    }
    tx.commit();
    return;
  }
  // No check value: only acceptable for a store that holds nothing yet, or a wrong key could
  // silently stamp itself onto other people's secrets.
  Stmt any(db, "SELECT 1 FROM secrets LIMIT 1");
  if (any.step()) db.fail_plain("holds secrets but no key check value; refusing to guess the key");
  std::vector<uint8_t> check = aead::seal(key.get(), kKeyCheckPlain, kKeyCheckAad);
  Stmt ins(db, "INSERT INTO meta(name, value) VALUES('key_check', ?1)");
  ins.bind(1, check);
  ins.step();
  tx.commit();
}

SecretStore::SecretStore(const fs::path& path, const DataKey& key)
    : impl_(std::make_unique<Impl>(path, key)) {
  impl_->configure();
  impl_->check_key();
}

SecretStore::~SecretStore() = default;

std::optional<std::string> SecretStore::get(std::string_view connection, std::string_view key) {
  std::lock_guard lock(impl_->mu);
  Db& db = impl_->db;
  check_name(db, "connection id", connection);
  check_name(db, "secret key name", key);
  Stmt sel(db, "SELECT value FROM secrets WHERE connection = ?1 AND key = ?2");
  sel.bind(1, connection);
  sel.bind(2, key);
  if (!sel.step()) return std::nullopt;
  std::optional<std::string> value(std::in_place);
  if (!aead::open(impl_->key.get(), sel.blob(0), associated_data(connection, key), *value)) {
    db.fail_plain("the stored value of connection '" + std::string(connection) + "' key '" +
                  std::string(key) +
                  "' failed authentication (tampered with, or moved from another connection or "
                  "key)");
  }
  return value;
}

void SecretStore::put(std::string_view connection,
                      std::span<const std::pair<std::string_view, std::string_view>> pairs) {
  std::lock_guard lock(impl_->mu);
  Db& db = impl_->db;
  check_name(db, "connection id", connection);
  for (const auto& [key, value] : pairs) check_name(db, "secret key name", key);
  if (pairs.empty()) return;

  const int64_t now = now_ms();
  Transaction tx(db);
  Stmt up(db,
          "INSERT INTO secrets(connection, key, value, updated_ms) VALUES(?1, ?2, ?3, ?4) "
          "ON CONFLICT(connection, key) DO UPDATE SET value = excluded.value, "
          "updated_ms = excluded.updated_ms");
  for (const auto& [key, value] : pairs) {
    std::vector<uint8_t> sealed =
        aead::seal(impl_->key.get(), value, associated_data(connection, key));
    up.bind(1, connection);
    up.bind(2, key);
    up.bind(3, sealed);
    up.bind(4, now);
    up.step();
    up.reset();
  }
  tx.commit();
}

std::vector<SecretInfo> SecretStore::list(std::string_view connection) {
  std::lock_guard lock(impl_->mu);
  Db& db = impl_->db;
  check_name(db, "connection id", connection);
  Stmt sel(db, "SELECT key, updated_ms FROM secrets WHERE connection = ?1 ORDER BY key");
  sel.bind(1, connection);
  std::vector<SecretInfo> out;
  while (sel.step()) out.push_back({sel.text(0), std::stoll(sel.text(1))});
  return out;
}

void SecretStore::erase_connection(std::string_view connection) {
  std::lock_guard lock(impl_->mu);
  Db& db = impl_->db;
  check_name(db, "connection id", connection);
  {
    Stmt del(db, "DELETE FROM secrets WHERE connection = ?1");
    del.bind(1, connection);
    del.step();
  }
  impl_->checkpoint_truncate();
}

void SecretStore::replace(std::string_view connection,
                          std::span<const std::pair<std::string_view, std::string_view>> pairs) {
  std::lock_guard lock(impl_->mu);
  Db& db = impl_->db;
  check_name(db, "connection id", connection);
  for (const auto& [key, value] : pairs) check_name(db, "secret key name", key);
  const int64_t now = now_ms();
  Transaction tx(db);
  {
    Stmt del(db, "DELETE FROM secrets WHERE connection = ?1");
    del.bind(1, connection);
    del.step();
  }
  Stmt ins(db, "INSERT INTO secrets(connection, key, value, updated_ms) VALUES(?1, ?2, ?3, ?4)");
  for (const auto& [key, value] : pairs) {
    std::vector<uint8_t> sealed =
        aead::seal(impl_->key.get(), value, associated_data(connection, key));
    ins.bind(1, connection);
    ins.bind(2, key);
    ins.bind(3, sealed);
    ins.bind(4, now);
    ins.step();
    ins.reset();
  }
  tx.commit();
}

size_t SecretStore::adopt(std::string_view from, std::string_view to) {
  std::lock_guard lock(impl_->mu);
  Db& db = impl_->db;
  check_name(db, "connection id", from);
  check_name(db, "connection id", to);
  Transaction tx(db);
  {
    Stmt any(db, "SELECT 1 FROM secrets WHERE connection = ?1 LIMIT 1");
    any.bind(1, to);
    if (any.step()) return 0;  // newer secrets win; `from` stays for the operator to inspect
  }
  std::vector<std::pair<std::string, std::string>> moved;
  {
    Stmt sel(db, "SELECT key, value FROM secrets WHERE connection = ?1");
    sel.bind(1, from);
    while (sel.step()) {
      std::string key = sel.text(0);
      std::string value;
      if (!aead::open(impl_->key.get(), sel.blob(1), associated_data(from, key), value)) {
        db.fail_plain("the stored value of connection '" + std::string(from) + "' key '" + key +
                      "' failed authentication; not moved to '" + std::string(to) + "'");
      }
      moved.emplace_back(std::move(key), std::move(value));
    }
  }
  if (moved.empty()) return 0;
  const int64_t now = now_ms();
  {
    Stmt ins(db, "INSERT INTO secrets(connection, key, value, updated_ms) VALUES(?1, ?2, ?3, ?4)");
    for (auto& [key, value] : moved) {
      std::vector<uint8_t> sealed = aead::seal(impl_->key.get(), value, associated_data(to, key));
      secure_wipe(value);
      ins.bind(1, to);
      ins.bind(2, key);
      ins.bind(3, sealed);
      ins.bind(4, now);
      ins.step();
      ins.reset();
    }
  }
  Stmt del(db, "DELETE FROM secrets WHERE connection = ?1");
  del.bind(1, from);
  del.step();
  tx.commit();
  return moved.size();
}

}  // namespace oemlink::store
