// The unsealed seed in this process's locked memory. Derives m/<child>', signs, and wipes the
// child key; derived keys of recently used children are cached (in locked memory) because
// derivation is a measurable share of a sign (see README.md).
//
// It answers for any child and keeps no registry: it is the engine inside ClaimedChildVault
// (what open_vault returns, in process and in keyd) and serves one-shot tools (`oemlink keys`,
// benchmarks). claim_all and retire throw.
#pragma once

#include <mutex>

#include "core/common/locked_buffer.hpp"
#include "core/vault/child_key_cache.hpp"
#include "core/vault/key_vault.hpp"

namespace oemlink::vault {

class InProcessVault final : public KeyVault {
 public:
  static constexpr size_t kDefaultCacheEntries = 4096;

  // Takes the seed (32 bytes, as unseal_vault returns it). cache_entries = 0 disables the cache.
  explicit InProcessVault(LockedBuffer seed, size_t cache_entries = kDefaultCacheEntries);

  [[nodiscard]] crypto::Address20 address(uint32_t child) override;
  [[nodiscard]] crypto::Signature65 sign_hash(uint32_t child,
                                              const crypto::Hash32& hash32) override;
  [[nodiscard]] std::vector<std::pair<size_t, std::string>> claim_all(ClaimList claims) override;
  [[nodiscard]] uint32_t claim_next(std::string_view connection_id) override;
  void retire(uint32_t child) override;

  // For tests: how many children are cached now.
  size_t cached_children();

 private:
  // Fills `key` with m/<child>' (from the cache or freshly derived and then cached).
  void child_key(uint32_t child, crypto::PrivateKey& key);

  const LockedBuffer seed_;
  std::mutex mu_;
  ChildKeyCache cache_;
};

// Throws VaultError unless child < 2^31 (hardened children only).
void check_child_number(uint32_t child);

}  // namespace oemlink::vault
