#include "core/vault/child_registry.hpp"
#include "core/common/wall_clock.hpp"

#include <sqlite3.h>

#include <chrono>
#include <ctime>
#include <mutex>
#include <thread>

#include "core/common/private_files.hpp"
#include "core/vault/in_process_vault.hpp"
#include "core/vault/key_vault.hpp"

namespace oemlink::vault {
namespace {

namespace fs = std::filesystem;

constexpr int kBusyTimeoutMs = 10'000;

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS children(
  child INTEGER PRIMARY KEY,
  connection_id TEXT UNIQUE NOT NULL,
  created_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS meta(
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
)sql";

constexpr const char* kFingerprintKey = "seed_fingerprint";

int64_t now_ms() {
  return unix_ms();
}

}  // namespace

struct ChildRegistry::Impl {
  fs::path path;
  sqlite3* db = nullptr;
  std::mutex mu;

  [[noreturn]] void fail(std::string_view what) const {
    throw VaultError("child registry " + path.string() + ": " + std::string(what) + ": " +
                     (db ? sqlite3_errmsg(db) : "out of memory"));
  }

  void exec(const char* sql) {
    if (sqlite3_exec(db, sql, nullptr, nullptr, nullptr) != SQLITE_OK) fail(sql);
  }

  // Registries written before retirement existed lack the column; it is added in place (NULL:
  // not retired), so an upgraded host keeps every claim.
  void add_retired_column();

  // A prepared statement that finalises itself.
  struct Stmt {
    Impl& impl;
    sqlite3_stmt* s = nullptr;
    Stmt(Impl& i, const char* sql) : impl(i) {
      if (sqlite3_prepare_v2(impl.db, sql, -1, &s, nullptr) != SQLITE_OK) impl.fail("prepare");
    }
    ~Stmt() { sqlite3_finalize(s); }
    bool step() {
      const int rc = sqlite3_step(s);
      if (rc == SQLITE_ROW) return true;
      if (rc == SQLITE_DONE) return false;
      impl.fail("query");
    }
  };
};

void ChildRegistry::Impl::add_retired_column() {
  // Check and alter under one write lock: two hosts (or threads on their own connections)
  // opening an old registry at once would otherwise both see the column missing and the
  // second ALTER would fail with "duplicate column name".
  exec("BEGIN IMMEDIATE");
  try {
    bool present = false;
    {
      Stmt info(*this, "SELECT 1 FROM pragma_table_info('children') WHERE name = 'retired_ms'");
      present = info.step();
    }
    if (!present) exec("ALTER TABLE children ADD COLUMN retired_ms INTEGER");
    exec("COMMIT");
  } catch (...) {
    sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

ChildRegistry::ChildRegistry(const fs::path& db_file) : impl_(std::make_unique<Impl>()) {
  impl_->path = db_file;
  try {
    create_private_file(db_file);
  } catch (const FileError& e) {
    throw VaultError(std::string("child registry: ") + e.what());
  }
  if (sqlite3_open_v2(db_file.c_str(), &impl_->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK) {
    const std::string msg = impl_->db ? sqlite3_errmsg(impl_->db) : "out of memory";
    sqlite3_close(impl_->db);
    impl_->db = nullptr;
    throw VaultError("child registry " + db_file.string() + ": cannot open: " + msg);
  }
  try {
    sqlite3_busy_timeout(impl_->db, kBusyTimeoutMs);
    // Two openers of a new keys.db at once (threads of one daemon, or a CLI beside it): switching
    // to WAL needs the file to itself, and SQLite answers BUSY at once there without calling the
    // busy handler (waiting could deadlock), so the wait is ours, bounded like the handler's.
    for (int waited_ms = 0;; waited_ms += 10) {
      try {
        impl_->exec("PRAGMA journal_mode=WAL");
        break;
      } catch (const VaultError&) {
        if (sqlite3_errcode(impl_->db) != SQLITE_BUSY || waited_ms >= kBusyTimeoutMs) throw;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    }
    impl_->exec("PRAGMA synchronous=FULL");
    impl_->exec("PRAGMA trusted_schema=OFF");
    impl_->exec(kSchema);
    impl_->add_retired_column();
  } catch (...) {
    sqlite3_close(impl_->db);
    impl_->db = nullptr;
    throw;
  }
}

ChildRegistry::~ChildRegistry() {
  if (impl_ && impl_->db) sqlite3_close(impl_->db);
}

namespace {

// The statements one claim needs, prepared once per transaction so a start-up claiming a
// million connections costs one transaction, not a million.
struct ClaimStatements {
  ChildRegistry::Impl& impl;
  ChildRegistry::Impl::Stmt by_child{
      impl, "SELECT connection_id, retired_ms FROM children WHERE child = ?1"};
  ChildRegistry::Impl::Stmt by_id{impl, "SELECT child FROM children WHERE connection_id = ?1"};
  ChildRegistry::Impl::Stmt insert{
      impl, "INSERT INTO children(child, connection_id, created_ms) VALUES(?1, ?2, ?3)"};

  // Inside a write transaction. Throws VaultError on a conflict, naming both parties.
  void claim(uint32_t child, std::string_view connection_id) {
    check_child_number(child);
    if (connection_id.empty())
      throw VaultError("cannot claim child " + std::to_string(child) +
                       ": the connection id is empty");
    sqlite3_reset(by_child.s);
    sqlite3_bind_int64(by_child.s, 1, child);
    if (by_child.step()) {
      const std::string owner(reinterpret_cast<const char*>(sqlite3_column_text(by_child.s, 0)));
      if (owner != connection_id) {
        throw VaultError("key child " + std::to_string(child) + " of connection '" +
                         std::string(connection_id) + "' already belongs to connection '" + owner +
                         "' (child numbers are never reused, even after a connection is "
                         "removed; use an unused number)");
      }
      if (sqlite3_column_type(by_child.s, 1) != SQLITE_NULL) {
        throw VaultError("key child " + std::to_string(child) + " of connection '" +
                         std::string(connection_id) +
                         "' was retired; a retired child never signs again (give the "
                         "connection an unused number)");
      }
      return;
    }
    sqlite3_reset(by_id.s);
    sqlite3_bind_text(by_id.s, 1, connection_id.data(), static_cast<int>(connection_id.size()),
                      SQLITE_STATIC);
    if (by_id.step()) {
      const auto had = static_cast<uint32_t>(sqlite3_column_int64(by_id.s, 0));
      throw VaultError("connection '" + std::string(connection_id) +
                       "' already signs with key child " + std::to_string(had) +
                       "; changing it to " + std::to_string(child) +
                       " would change its address (its synthetic device is minted for the old "
                       "one)");
    }
    sqlite3_reset(insert.s);
    sqlite3_bind_int64(insert.s, 1, child);
    sqlite3_bind_text(insert.s, 2, connection_id.data(), static_cast<int>(connection_id.size()),
                      SQLITE_STATIC);
    sqlite3_bind_int64(insert.s, 3, now_ms());
    insert.step();
  }
};

}  // namespace

void ChildRegistry::claim(uint32_t child, std::string_view connection_id) {
  std::pair<uint32_t, std::string_view> one[] = {{child, connection_id}};
  auto failures = claim_all(one);
  if (!failures.empty()) throw VaultError(failures.front().second);
}

std::vector<std::pair<size_t, std::string>> ChildRegistry::claim_all(
    std::span<const std::pair<uint32_t, std::string_view>> claims) {
  std::vector<std::pair<size_t, std::string>> failures;
  std::lock_guard lock(impl_->mu);
  // IMMEDIATE: take the write lock before reading, so two processes cannot both see "free".
  impl_->exec("BEGIN IMMEDIATE");
  try {
    ClaimStatements st{*impl_};
    for (size_t i = 0; i < claims.size(); ++i) {
      try {
        st.claim(claims[i].first, claims[i].second);
      } catch (const VaultError& e) {
        failures.emplace_back(i, e.what());
      }
    }
  } catch (...) {
    sqlite3_exec(impl_->db, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
  impl_->exec("COMMIT");
  return failures;
}

namespace {

// "2026-05-01 12:00:00 UTC": when a child was retired, for the operator reading the refusal.
std::string utc_text(int64_t ms) {
  const std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

}  // namespace

uint32_t ChildRegistry::claim_next(std::string_view connection_id) {
  if (connection_id.empty())
    throw VaultError("cannot claim a key child: the connection id is empty");
  std::lock_guard lock(impl_->mu);
  // IMMEDIATE: the write lock is taken before MAX(child) is read, so a second process claiming
  // at the same moment waits and then sees this claim.
  impl_->exec("BEGIN IMMEDIATE");
  try {
    uint32_t child = 0;
    bool existing = false;
    {
      Impl::Stmt by_id(*impl_, "SELECT child, retired_ms FROM children WHERE connection_id = ?1");
      sqlite3_bind_text(by_id.s, 1, connection_id.data(), static_cast<int>(connection_id.size()),
                        SQLITE_STATIC);
      if (by_id.step()) {
        child = static_cast<uint32_t>(sqlite3_column_int64(by_id.s, 0));
        if (sqlite3_column_type(by_id.s, 1) != SQLITE_NULL) {
          throw VaultError("connection " + std::string(connection_id) + "'s key child " +
                           std::to_string(child) + " was retired on " +
                           utc_text(sqlite3_column_int64(by_id.s, 1)) +
                           "; a retired child never signs again, and the connection keeps its "
                           "child for good (link the car as a new connection)");
        }
        existing = true;
      }
    }
    if (!existing) {
      {
        Impl::Stmt max(*impl_, "SELECT MAX(child) FROM children");
        if (max.step() && sqlite3_column_type(max.s, 0) != SQLITE_NULL) {
          const int64_t highest = sqlite3_column_int64(max.s, 0);
          if (highest >= 0x7FFF'FFFF)
            throw VaultError("child registry " + impl_->path.string() +
                             ": every child number has been used");
          child = static_cast<uint32_t>(highest + 1);
        }
      }
      Impl::Stmt insert(
          *impl_, "INSERT INTO children(child, connection_id, created_ms) VALUES(?1, ?2, ?3)");
      sqlite3_bind_int64(insert.s, 1, child);
      sqlite3_bind_text(insert.s, 2, connection_id.data(), static_cast<int>(connection_id.size()),
                        SQLITE_STATIC);
      sqlite3_bind_int64(insert.s, 3, now_ms());
      insert.step();
    }
    impl_->exec("COMMIT");
    return child;
  } catch (...) {
    sqlite3_exec(impl_->db, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

uint32_t ChildRegistry::next_free() {
  std::lock_guard lock(impl_->mu);
  Impl::Stmt s(*impl_, "SELECT MAX(child) FROM children");
  if (!s.step() || sqlite3_column_type(s.s, 0) == SQLITE_NULL) return 0;
  const int64_t max = sqlite3_column_int64(s.s, 0);
  if (max >= 0x7FFF'FFFF)
    throw VaultError("child registry " + impl_->path.string() +
                     ": every child number has been used");
  return static_cast<uint32_t>(max + 1);
}

std::optional<ChildClaim> ChildRegistry::owner(uint32_t child) {
  std::lock_guard lock(impl_->mu);
  Impl::Stmt s(*impl_,
               "SELECT connection_id, created_ms, retired_ms FROM children WHERE child = ?1");
  sqlite3_bind_int64(s.s, 1, child);
  if (!s.step()) return std::nullopt;
  return ChildClaim{child, reinterpret_cast<const char*>(sqlite3_column_text(s.s, 0)),
                    sqlite3_column_int64(s.s, 1), sqlite3_column_int64(s.s, 2)};
}

void ChildRegistry::retire(uint32_t child) {
  check_child_number(child);
  std::lock_guard lock(impl_->mu);
  Impl::Stmt s(*impl_,
               "UPDATE children SET retired_ms = coalesce(retired_ms, ?2) WHERE child = ?1");
  sqlite3_bind_int64(s.s, 1, child);
  sqlite3_bind_int64(s.s, 2, now_ms());
  s.step();
  if (sqlite3_changes(impl_->db) == 0)
    throw VaultError("cannot retire key child " + std::to_string(child) + ": it was never claimed");
}

std::vector<uint32_t> ChildRegistry::active_children() {
  std::lock_guard lock(impl_->mu);
  Impl::Stmt s(*impl_, "SELECT child FROM children WHERE retired_ms IS NULL ORDER BY child");
  std::vector<uint32_t> out;
  while (s.step()) out.push_back(static_cast<uint32_t>(sqlite3_column_int64(s.s, 0)));
  return out;
}

size_t ChildRegistry::claimed_count() {
  std::lock_guard lock(impl_->mu);
  Impl::Stmt s(*impl_, "SELECT count(*) FROM children");
  s.step();
  return static_cast<size_t>(sqlite3_column_int64(s.s, 0));
}

std::optional<std::string> ChildRegistry::seed_fingerprint() {
  std::lock_guard lock(impl_->mu);
  Impl::Stmt s(*impl_, "SELECT value FROM meta WHERE key = ?1");
  sqlite3_bind_text(s.s, 1, kFingerprintKey, -1, SQLITE_STATIC);
  if (!s.step()) return std::nullopt;
  return std::string(reinterpret_cast<const char*>(sqlite3_column_text(s.s, 0)));
}

void ChildRegistry::set_seed_fingerprint(std::string_view fingerprint) {
  std::lock_guard lock(impl_->mu);
  // INSERT only: a recorded fingerprint is the registry's memory of its seed and is never
  // overwritten (a mismatch is the caller's error to report).
  Impl::Stmt s(*impl_, "INSERT OR IGNORE INTO meta(key, value) VALUES(?1, ?2)");
  sqlite3_bind_text(s.s, 1, kFingerprintKey, -1, SQLITE_STATIC);
  sqlite3_bind_text(s.s, 2, fingerprint.data(), static_cast<int>(fingerprint.size()),
                    SQLITE_STATIC);
  s.step();
}

std::vector<ChildClaim> ChildRegistry::list() {
  std::lock_guard lock(impl_->mu);
  Impl::Stmt s(*impl_,
               "SELECT child, connection_id, created_ms, retired_ms FROM children ORDER BY child");
  std::vector<ChildClaim> out;
  while (s.step()) {
    out.push_back(ChildClaim{static_cast<uint32_t>(sqlite3_column_int64(s.s, 0)),
                             reinterpret_cast<const char*>(sqlite3_column_text(s.s, 1)),
                             sqlite3_column_int64(s.s, 2), sqlite3_column_int64(s.s, 3)});
  }
  return out;
}

}  // namespace oemlink::vault
