// Thin RAII over the sqlite3 C API. Every failure throws StoreError naming the database path,
// the operation and SQLite's message (which never contains bound values).
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>

struct sqlite3;
struct sqlite3_stmt;

namespace oemlink::store {

class Db {
 public:
  // `label` names the store in errors ("secret store", "outbox").
  explicit Db(const std::filesystem::path& path, std::string label = "secret store");
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  sqlite3* handle() const { return db_; }
  const std::filesystem::path& path() const { return path_; }

  void exec(const char* sql);
  // Throws StoreError: "<label> <path>: <what>: <sqlite message>".
  [[noreturn]] void fail(std::string_view what) const;
  [[noreturn]] void fail_plain(std::string_view what) const;

 private:
  std::filesystem::path path_;
  std::string label_;
  sqlite3* db_ = nullptr;
};

class Stmt {
 public:
  Stmt(Db& db, const char* sql);
  ~Stmt();
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  // Bound text/blobs are SQLITE_STATIC: they must outlive step().
  void bind(int index, std::string_view text);
  void bind(int index, std::span<const uint8_t> blob);
  void bind(int index, int64_t value);
  // True while a row is available; false when done.
  bool step();
  // Like step(), but a constraint violation (UNIQUE, NOT NULL, ...) returns false and sets
  // `violated` instead of throwing: the statement's own changes are undone, the transaction
  // goes on. Call reset() before the next use.
  bool step(bool& violated);
  // Ready for the next set of bindings.
  void reset();
  std::span<const uint8_t> blob(int column) const;
  std::string text(int column) const;
  // Valid until the next step() or reset(): for comparing without a copy.
  std::string_view text_view(int column) const;
  int64_t integer(int column) const;  // NULL reads as 0
  bool is_null(int column) const;

 private:
  Db& db_;
  sqlite3_stmt* stmt_ = nullptr;
  const char* sql_;
};

// BEGIN IMMEDIATE on construction (takes the write lock up front, so no deadlock-prone lock
// upgrade later); ROLLBACK on destruction unless commit() succeeded.
class Transaction {
 public:
  explicit Transaction(Db& db);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit();

 private:
  Db& db_;
  bool done_ = false;
};

}  // namespace oemlink::store
