// ClaimedChildVault: the seed (an InProcessVault) behind the child registry. It signs for, and
// gives the address of, only children claimed by a connection and not retired, and it refuses a
// seed other than the one the registry's claims were made with. What open_vault returns for the
// in-process backend and what oemlink-keyd serves, so both backends enforce the same rule.
#pragma once

#include <filesystem>
#include <shared_mutex>
#include <string>
#include <vector>

#include "core/common/locked_buffer.hpp"
#include "core/vault/child_registry.hpp"
#include "core/vault/in_process_vault.hpp"

namespace oemlink::vault {

class ClaimedChildVault final : public KeyVault {
 public:
  // Opens (or creates) the registry, records the seed's fingerprint at first use and throws
  // VaultError naming both files when the seed is not the registry's. `vault_file` only names
  // the seed's origin in messages.
  ClaimedChildVault(LockedBuffer seed, size_t cache_entries,
                    const std::filesystem::path& registry_file,
                    const std::filesystem::path& vault_file);

  [[nodiscard]] crypto::Address20 address(uint32_t child) override;
  [[nodiscard]] crypto::Signature65 sign_hash(uint32_t child,
                                              const crypto::Hash32& hash32) override;
  [[nodiscard]] std::vector<std::pair<size_t, std::string>> claim_all(ClaimList claims) override;
  [[nodiscard]] uint32_t claim_next(std::string_view connection_id) override;
  void retire(uint32_t child) override;

  // Child 0's EIP-55 address: the seed's fingerprint.
  [[nodiscard]] const std::string& fingerprint() const { return fingerprint_; }

 private:
  // Throws VaultError unless `child` is claimed and not retired.
  void check_active(uint32_t child);

  InProcessVault seed_;
  ChildRegistry registry_;
  std::string fingerprint_;
  // The active children, sorted, mirrored from the registry so a signature costs a binary
  // search, not a query; 4 bytes a child, so a million-car fleet adds 4 MiB, not a hash set's 50.
  std::shared_mutex mu_;
  std::vector<uint32_t> active_;
};

// Refuses (VaultError) when `vault_file` is missing while `registry_file` holds claims: the only
// fix is restoring the seed, and a new one would change every claimed car's address. Call it
// before creating a seed, and before unsealing, so the operator reads what happened.
void refuse_missing_vault_with_claims(const std::filesystem::path& vault_file,
                                      const std::filesystem::path& registry_file);

}  // namespace oemlink::vault
