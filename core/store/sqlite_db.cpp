#include "core/store/sqlite_db.hpp"

#include <sqlite3.h>

#include "core/store/secret_store.hpp"

namespace oemlink::store {

Db::Db(const std::filesystem::path& path, std::string label)
    : path_(path), label_(std::move(label)) {
  // Our own mutex serialises use of the connection, so SQLite's is not needed.
  int rc =
      sqlite3_open_v2(path.c_str(), &db_,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close(db_);
    db_ = nullptr;
    throw StoreError(label_ + " " + path.string() + ": cannot open: " + msg);
  }
  sqlite3_extended_result_codes(db_, 1);
}

Db::~Db() {
  sqlite3_close(db_);
}

void Db::exec(const char* sql) {
  if (sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) != SQLITE_OK) fail(sql);
}

void Db::fail(std::string_view what) const {
  throw StoreError(label_ + " " + path_.string() + ": " + std::string(what) + ": " +
                   sqlite3_errmsg(db_) + " (code " + std::to_string(sqlite3_extended_errcode(db_)) +
                   ")");
}

void Db::fail_plain(std::string_view what) const {
  throw StoreError(label_ + " " + path_.string() + ": " + std::string(what));
}

Stmt::Stmt(Db& db, const char* sql) : db_(db), sql_(sql) {
  if (sqlite3_prepare_v2(db.handle(), sql, -1, &stmt_, nullptr) != SQLITE_OK) {
    db.fail(std::string("prepare ") + sql);
  }
}

Stmt::~Stmt() {
  sqlite3_finalize(stmt_);
}

void Stmt::bind(int index, std::string_view text) {
  if (sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_STATIC, SQLITE_UTF8) !=
      SQLITE_OK) {
    db_.fail(std::string("bind ") + sql_);
  }
}

void Stmt::bind(int index, std::span<const uint8_t> blob) {
  // A null pointer would bind NULL rather than an empty blob.
  static const uint8_t kEmpty = 0;
  const void* data = blob.empty() ? &kEmpty : blob.data();
  if (sqlite3_bind_blob64(stmt_, index, data, blob.size(), SQLITE_STATIC) != SQLITE_OK) {
    db_.fail(std::string("bind ") + sql_);
  }
}

void Stmt::bind(int index, int64_t value) {
  if (sqlite3_bind_int64(stmt_, index, value) != SQLITE_OK) db_.fail(std::string("bind ") + sql_);
}

bool Stmt::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  db_.fail(sql_);
}

bool Stmt::step(bool& violated) {
  violated = false;
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  if ((rc & 0xff) == SQLITE_CONSTRAINT) {
    violated = true;
    return false;
  }
  db_.fail(sql_);
}

void Stmt::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

std::span<const uint8_t> Stmt::blob(int column) const {
  const void* data = sqlite3_column_blob(stmt_, column);
  int n = sqlite3_column_bytes(stmt_, column);
  if (data == nullptr || n <= 0) return {};
  return {static_cast<const uint8_t*>(data), static_cast<size_t>(n)};
}

std::string Stmt::text(int column) const {
  const unsigned char* data = sqlite3_column_text(stmt_, column);
  int n = sqlite3_column_bytes(stmt_, column);
  if (data == nullptr || n <= 0) return {};
  return {reinterpret_cast<const char*>(data), static_cast<size_t>(n)};
}

std::string_view Stmt::text_view(int column) const {
  const unsigned char* data = sqlite3_column_text(stmt_, column);
  int n = sqlite3_column_bytes(stmt_, column);
  if (data == nullptr || n <= 0) return {};
  return {reinterpret_cast<const char*>(data), static_cast<size_t>(n)};
}

int64_t Stmt::integer(int column) const {
  return sqlite3_column_int64(stmt_, column);
}

bool Stmt::is_null(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

Transaction::Transaction(Db& db) : db_(db) {
  db_.exec("BEGIN IMMEDIATE");
}

Transaction::~Transaction() {
  // After a failed COMMIT SQLite may already have rolled back on its own.
  if (!done_ && sqlite3_get_autocommit(db_.handle()) == 0) {
    sqlite3_exec(db_.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
  }
}

void Transaction::commit() {
  db_.exec("COMMIT");
  done_ = true;
}

}  // namespace oemlink::store
