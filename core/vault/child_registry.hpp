// Which connection owns which child number. A child number is allocated once and never reused:
// its address is a minted synthetic device, so handing it to another car would let that car sign
// as the first one. Rows are never deleted, not even when a connection leaves the config.
//
// A child may be retired: it then never signs again and is never claimed again. The registry
// also remembers the seed it was claimed with (child 0's address), so a replaced or lost seed is
// caught instead of silently changing every car's address.
//
// SQLite (WAL, synchronous=FULL), owned by whoever holds the seed (the in-process vault, or keyd):
//   children(child INTEGER PRIMARY KEY, connection_id TEXT UNIQUE NOT NULL, created_ms INTEGER,
//            retired_ms INTEGER)   -- NULL: active
//   meta(key TEXT PRIMARY KEY, value TEXT)   -- the seed_fingerprint
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace oemlink::vault {

struct ChildClaim {
  uint32_t child = 0;
  std::string connection_id;
  int64_t created_ms = 0;
  int64_t retired_ms = 0;  // 0: active
};

class ChildRegistry {
 public:
  // Opens or creates the database (mode 0600, parents 0700). Throws VaultError naming the path.
  explicit ChildRegistry(const std::filesystem::path& db_file);
  ~ChildRegistry();
  ChildRegistry(const ChildRegistry&) = delete;
  ChildRegistry& operator=(const ChildRegistry&) = delete;

  // [any-thread] Records that `connection_id` signs with `child`. Succeeds when the pair is new or
  // already recorded (and not retired). Throws VaultError naming both connection ids when the child
  // belongs to another connection, or both child numbers when the connection already has another
  // child.
  void claim(uint32_t child, std::string_view connection_id);

  // [any-thread] Claims many in one transaction (a start-up with a large fleet). Returns the
  // index and message of each claim that conflicts; the others are recorded.
  std::vector<std::pair<size_t, std::string>> claim_all(
      std::span<const std::pair<uint32_t, std::string_view>> claims);

  // [any-thread] Gives `connection_id` a child never claimed before (one more than the highest
  // ever claimed, retired ones included) and records it, in one write transaction (BEGIN
  // IMMEDIATE), so two threads or processes never get the same child. Idempotent: a connection
  // that holds an active child gets that child back. Throws VaultError when the connection's
  // child was retired ("connection X's key child N was retired on <date>"), when the id is
  // empty, or when every child number is used.
  [[nodiscard]] uint32_t claim_next(std::string_view connection_id);

  struct Impl;

  // [any-thread] One more than the highest child ever claimed (0 for an empty registry), so
  // tooling proposes numbers that were never used, not even by removed connections.
  [[nodiscard]] uint32_t next_free();

  // [any-thread] The claim of `child`, if any.
  [[nodiscard]] std::optional<ChildClaim> owner(uint32_t child);

  // [any-thread] Retires a claimed child for good. Throws VaultError when it was never claimed.
  void retire(uint32_t child);

  // [any-thread] The children claimed and not retired, ascending.
  [[nodiscard]] std::vector<uint32_t> active_children();

  // [any-thread] How many children were ever claimed (retired ones included).
  [[nodiscard]] size_t claimed_count();

  // [any-thread] The seed's fingerprint recorded at first use (child 0's EIP-55 address), if any;
  // set_seed_fingerprint records one unless one is recorded already.
  [[nodiscard]] std::optional<std::string> seed_fingerprint();
  void set_seed_fingerprint(std::string_view fingerprint);

  // [any-thread] Every claim, by child number.
  [[nodiscard]] std::vector<ChildClaim> list();

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace oemlink::vault
