// Which connection owns which child number. A child number is allocated once and never reused:
// its address is a minted synthetic device, so handing it to another car would let that car sign
// as the first one. Rows are never deleted, not even when a connection leaves the config.
//
// A SQLite table in the data dir (WAL, synchronous=FULL):
//   children(child INTEGER PRIMARY KEY, connection_id TEXT UNIQUE NOT NULL, created_ms INTEGER)
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
};

class ChildRegistry {
 public:
  // Opens or creates the database (mode 0600, parents 0700). Throws VaultError naming the path.
  explicit ChildRegistry(const std::filesystem::path& db_file);
  ~ChildRegistry();
  ChildRegistry(const ChildRegistry&) = delete;
  ChildRegistry& operator=(const ChildRegistry&) = delete;

  // [any-thread] Records that `connection_id` signs with `child`. Succeeds when the pair is new or
  // already recorded. Throws VaultError naming both connection ids when the child belongs to
  // another connection, or both child numbers when the connection already has another child.
  void claim(uint32_t child, std::string_view connection_id);

  // [any-thread] Claims many in one transaction (a start-up with a large fleet). Returns the
  // index and message of each claim that conflicts; the others are recorded.
  std::vector<std::pair<size_t, std::string>> claim_all(
      std::span<const std::pair<uint32_t, std::string_view>> claims);

  struct Impl;

  // [any-thread] One more than the highest child ever claimed (0 for an empty registry), so
  // tooling proposes numbers that were never used, not even by removed connections.
  [[nodiscard]] uint32_t next_free();

  // [any-thread] The claim of `child`, if any.
  [[nodiscard]] std::optional<ChildClaim> owner(uint32_t child);

  // [any-thread] Every claim, by child number.
  [[nodiscard]] std::vector<ChildClaim> list();

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace oemlink::vault
