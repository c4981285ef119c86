// Shared helpers for the store tests: private temp dirs and raw file/DB access.
#pragma once

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>

#include "core/store/secret_store.hpp"

namespace oemlink::store::testing {

namespace fs = std::filesystem;

// A fresh directory per test (ctest runs tests in parallel), removed afterwards.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::path(::testing::TempDir()) / "oemlink-store-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) ADD_FAILURE() << "mkdtemp failed";
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

inline std::string read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline bool file_contains(const fs::path& p, std::string_view needle) {
  return read_bytes(p).find(needle) != std::string::npos;
}

// A second, plain SQLite connection to a store's file: plays the attacker or the fault injector.
class RawDb {
 public:
  explicit RawDb(const fs::path& p) {
    EXPECT_EQ(sqlite3_open(p.c_str(), &db_), SQLITE_OK);
    sqlite3_busy_timeout(db_, 10'000);
  }
  ~RawDb() { sqlite3_close(db_); }
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;

  void exec(const std::string& sql) {
    char* err = nullptr;
    int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
    EXPECT_EQ(rc, SQLITE_OK) << sql << ": " << (err ? err : "");
    sqlite3_free(err);
  }
  // The first column of the first row as an integer (-1 when there is no row); for statements
  // without rows, -1 after running them.
  int64_t count(const std::string& sql) {
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr), SQLITE_OK) << sql;
    int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    return n;
  }
  // XORs one byte (`offset` < 0 counts from the end) of a BLOB cell in place through the
  // incremental BLOB API; returns the BLOB's size (0 when it cannot be opened).
  int flip(const char* table, const char* column, int64_t rowid, int offset, uint8_t mask) {
    sqlite3_blob* blob = nullptr;
    if (sqlite3_blob_open(db_, "main", table, column, rowid, 1, &blob) != SQLITE_OK) {
      ADD_FAILURE() << sqlite3_errmsg(db_);
      return 0;
    }
    const int size = sqlite3_blob_bytes(blob);
    if (offset < 0) offset += size;
    uint8_t b = 0;
    EXPECT_EQ(sqlite3_blob_read(blob, &b, 1, offset), SQLITE_OK);
    b ^= mask;
    EXPECT_EQ(sqlite3_blob_write(blob, &b, 1, offset), SQLITE_OK);
    sqlite3_blob_close(blob);
    return size;
  }

 private:
  sqlite3* db_ = nullptr;
};

inline DataKey key_of(uint8_t seed) {
  DataKey k{};
  for (size_t i = 0; i < k.size(); ++i) k[i] = static_cast<uint8_t>(seed * 31 + i * 7 + 1);
  return k;
}

}  // namespace oemlink::store::testing
