// The ConnectionStore's insides, shared by connection_store.cpp (open, reads, row writes) and
// connection_reconcile.cpp (the YAML merge). Private to core/store.
#pragma once

#include "core/store/connection_store.hpp"
#include "core/store/secret_store.hpp"
#include "core/store/sqlite_db.hpp"

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

namespace oemlink::store {

namespace connection_db {

// "2026-12-01T06:20:00Z": when a row was revoked, in refusals.
std::string utc_time(int64_t ms);

// A bulk write (a million YAML rows) inserts into four indexes in an order that is random for
// most of them. With SQLite's default 2 MiB cache, dirty index pages are spilled to the WAL over
// and over inside the one transaction; a cache the size of the indexes writes each page once.
// The memory goes back when the write is done.
class BulkWriteCache {
 public:
  BulkWriteCache(Db& db, size_t rows) : db_(db), on_(rows >= kMinRows) {
    if (on_) db_.exec("PRAGMA cache_size = -262144");  // KiB: up to 256 MiB, used as needed
  }
  ~BulkWriteCache() {
    if (!on_) return;
    sqlite3_exec(db_.handle(), "PRAGMA cache_size = -2000", nullptr, nullptr, nullptr);
    sqlite3_db_release_memory(db_.handle());
  }
  BulkWriteCache(const BulkWriteCache&) = delete;
  BulkWriteCache& operator=(const BulkWriteCache&) = delete;

 private:
  static constexpr size_t kMinRows = 10'000;
  Db& db_;
  bool on_;
};

// Any SQLite failure leaves as ConnectionStoreError; its message already names the file.
template <class F>
auto guarded(F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const StoreError& e) {
    throw ConnectionStoreError(e.what());
  }
}

}  // namespace connection_db

struct ConnectionStore::Impl {
  std::filesystem::path path;

  // Writes, one at a time. Declared before their statements: statements are finalised first.
  std::mutex write_mu;
  std::unique_ptr<Db> writer;
  std::unique_ptr<Stmt> insert, w_by_id, w_by_child, w_live_vehicle, w_live_vin, state_of,
      set_state, set_tokens, mint_set, mint_get;

  // Reads. Recursive: a for_each callback may read again on this thread.
  std::recursive_mutex read_mu;
  std::unique_ptr<Db> reader;
  std::unique_ptr<Stmt> get, live_vehicle, live_vin, page_all, page_state, count_all, count_state,
      count_live, counts;

  void open_writer();
  void open_reader();
  void bind_row(Stmt& s, const StoredConnection& r);
  // Inserts `r` on the writer; "" or why not, naming the connection that is in the way.
  std::string insert_row(const StoredConnection& r);
  std::string conflict(const StoredConnection& r, bool row_exists);
};

}  // namespace oemlink::store
