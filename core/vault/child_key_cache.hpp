// A bounded cache of derived child keys (and their addresses), kept in locked memory.
//
// Why: the pipeline signs every event, and deriving m/<n>' costs two HMAC-SHA512 plus, for an
// address, a public-key multiplication; a few thousand active cars fit in a few hundred KiB.
// CLOCK replacement (one "referenced" bit per slot, a sweeping hand) gives LRU-like behaviour
// without reordering a list on every hit. Evicted slots and the whole cache are wiped.
//
// Not thread-safe by itself: InProcessVault serialises access with its mutex.
#pragma once

#include <cstdint>
#include <optional>
#include <unordered_map>

#include "core/common/locked_buffer.hpp"
#include "core/crypto/secp256k1_signer.hpp"

namespace oemlink::vault {

class ChildKeyCache {
 public:
  explicit ChildKeyCache(size_t capacity);

  size_t capacity() const { return capacity_; }
  size_t size() const { return index_.size(); }

  // Copies the cached key into `key` (the caller wipes it) and marks the slot recently used.
  bool get_key(uint32_t child, crypto::PrivateKey& key);
  std::optional<crypto::Address20> get_address(uint32_t child);

  // Inserts or refreshes `child`, evicting (and wiping) another slot when full. `address` may be
  // unknown yet (signing needs only the key).
  void put(uint32_t child, const crypto::PrivateKey& key,
           const std::optional<crypto::Address20>& address);

 private:
  struct Slot {
    crypto::PrivateKey key;
    crypto::Address20 address;
    uint32_t child;
    bool used;
    bool referenced;
    bool has_address;
  };

  size_t take_slot();

  size_t capacity_;
  LockedBuffer memory_;
  Slot* slots_ = nullptr;
  size_t hand_ = 0;
  // Child numbers are not secret, so the index lives in ordinary memory.
  std::unordered_map<uint32_t, size_t> index_;
};

}  // namespace oemlink::vault
