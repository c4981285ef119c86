// Durable, atomic, encrypted per-connection secrets (OAuth access and refresh tokens).
//
// Why atomic and durable: OEM refresh tokens are single-use and rotate (Tesla voids the old one
// the moment a new one is issued), so a rotated pair that is half-written or lost in a crash
// strands the car until its owner logs in again. put() commits all pairs in one SQLite
// transaction with synchronous=FULL before returning.
// Why encrypted: a copied data dir must not reveal tokens. Each value is sealed with
// AES-256-GCM under the store's data key, with (connection id, key) as associated data so a
// ciphertext cannot be moved to another connection or key.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/common/data_key.hpp"

namespace oemlink::store {

class StoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A stored secret's name and when it was last written; never its value.
struct SecretInfo {
  std::string key;
  int64_t updated_ms = 0;  // Unix ms
};

class SecretStore {
 public:
  // Opens (creating if needed) the SQLite database at `path` in WAL mode. Throws StoreError
  // naming the path on failure. The key is copied and wiped on destruction.
  SecretStore(const std::filesystem::path& path, const DataKey& key);
  ~SecretStore();
  SecretStore(const SecretStore&) = delete;
  SecretStore& operator=(const SecretStore&) = delete;

  // [any-thread] The value, or nullopt when absent. Throws StoreError when the stored value
  // fails authentication (wrong key or tampering) — never returns garbage.
  std::optional<std::string> get(std::string_view connection, std::string_view key);

  // [any-thread] Stores every pair in one durable transaction; all or nothing. Throws StoreError.
  void put(std::string_view connection,
           std::span<const std::pair<std::string_view, std::string_view>> pairs);

  // [any-thread] The keys `connection` holds, sorted by name, with their update times. Values
  // stay sealed (nothing is decrypted).
  std::vector<SecretInfo> list(std::string_view connection);

  // [any-thread] Removes every secret of a connection (unlinking a car), so that no byte of them
  // stays in the files: deleted values are zeroed in their pages (secure_delete) and the WAL is
  // checkpointed and truncated. Throws StoreError when the checkpoint could not complete.
  void erase_connection(std::string_view connection);

  // [any-thread] Replaces every secret of a connection with `pairs` (new tokens after
  // re-authentication), in one durable transaction: keys not in `pairs` are gone afterwards.
  void replace(std::string_view connection,
               std::span<const std::pair<std::string_view, std::string_view>> pairs);

  // [any-thread] Moves every secret of `from` to `to` (re-sealed: the owner is bound into each
  // value), in one transaction, unless `to` already holds secrets. Returns how many moved.
  // Throws StoreError when a value of `from` fails authentication.
  size_t adopt(std::string_view from, std::string_view to);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace oemlink::store
