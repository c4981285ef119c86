// The outbox's on-disk layout: opening (file mode, pragmas, schema, key check), the state the
// store rebuilds in memory at open, and the few SQL helpers the outbox shares.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/store/secret_store.hpp"
#include "core/store/sqlite_db.hpp"

namespace oemlink::store::outbox {

inline constexpr int kSchemaVersion = 1;

// What open() found on disk.
struct OpenState {
  uint64_t high_seq = 0;      // highest sequence ever assigned; the next one is high_seq + 1
  uint64_t records = 0;       // rows in `records` (undelivered by at least one sink)
  uint64_t bytes = 0;         // sum of their `size`
  uint64_t dead_letters = 0;  // rows in `dead_letters`
  std::map<std::string, uint64_t, std::less<>> cursors;  // one per configured sink
  std::map<std::string, std::vector<uint64_t>, std::less<>> acked;  // persisted, past the cursor
};

// Creates the file 0600 (and private parent dirs) before SQLite opens it, so the -wal/-shm files
// SQLite derives from it are private too. Existing files keep their mode.
void precreate_private_file(const std::filesystem::path& path);

// Pragmas, schema, key check, sequence high-water mark, and cursor reconciliation against
// `sinks` (new sinks start at the oldest stored record; unconfigured sinks lose their cursor),
// all in one transaction. Throws StoreError naming the path.
OpenState open(Db& db, const DataKey& key, const std::vector<std::string>& sinks);

// Associated data of a record's payload: binds the ciphertext to its sequence number, so rows
// cannot be swapped or replayed under another seq.
std::string record_aad(uint64_t seq);

// Integer column through the Stmt helper (which exposes text and blobs only).
int64_t column_int(const Stmt& stmt, int column);

int64_t now_ms();

// "outbox <path>: <what>" — the Db helper's own messages say "secret store".
[[noreturn]] void fail(const Db& db, std::string_view what);

}  // namespace oemlink::store::outbox
