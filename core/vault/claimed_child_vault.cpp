#include "core/vault/claimed_child_vault.hpp"

#include <algorithm>
#include <mutex>

namespace oemlink::vault {
namespace {

namespace fs = std::filesystem;

std::string seed_fingerprint(InProcessVault& seed) {
  return crypto::to_checksum_address(seed.address(0));
}

}  // namespace

ClaimedChildVault::ClaimedChildVault(LockedBuffer seed, size_t cache_entries,
                                     const fs::path& registry_file, const fs::path& vault_file)
    : seed_(std::move(seed), cache_entries), registry_(registry_file) {
  fingerprint_ = seed_fingerprint(seed_);
  const std::optional<std::string> recorded = registry_.seed_fingerprint();
  if (!recorded) {
    // First use, or a registry from before fingerprints: this seed is the one from now on.
    registry_.set_seed_fingerprint(fingerprint_);
  } else if (*recorded != fingerprint_) {
    throw VaultError("the seed in " + vault_file.string() + " is not the one the key children in " +
                     registry_file.string() + " were claimed with (child 0 was " + *recorded +
                     ", this seed's child 0 is " + fingerprint_ +
                     "): every car's address would change. Restore " + vault_file.string() +
                     " from a backup of the seed whose child 0 is " + *recorded +
                     "; never create a new seed over existing claims");
  }
  active_ = registry_.active_children();  // ascending
}

void ClaimedChildVault::check_active(uint32_t child) {
  check_child_number(child);
  {
    std::shared_lock lock(mu_);
    if (std::binary_search(active_.begin(), active_.end(), child)) return;
  }
  const std::optional<ChildClaim> claim = registry_.owner(child);
  if (claim && claim->retired_ms != 0) {
    throw VaultError("key child " + std::to_string(child) + " (connection '" +
                     claim->connection_id + "') is retired and never signs again");
  }
  throw VaultError("key child " + std::to_string(child) +
                   " is not claimed by any connection; the vault answers only for claimed "
                   "children");
}

crypto::Address20 ClaimedChildVault::address(uint32_t child) {
  check_active(child);
  return seed_.address(child);
}

crypto::Signature65 ClaimedChildVault::sign_hash(uint32_t child, const crypto::Hash32& hash32) {
  check_active(child);
  return seed_.sign_hash(child, hash32);
}

std::vector<std::pair<size_t, std::string>> ClaimedChildVault::claim_all(ClaimList claims) {
  std::vector<std::pair<size_t, std::string>> refused = registry_.claim_all(claims);
  std::vector<bool> ok(claims.size(), true);
  for (const auto& r : refused) ok[r.first] = false;
  std::unique_lock lock(mu_);
  active_.reserve(active_.size() + claims.size());
  for (size_t i = 0; i < claims.size(); ++i)
    if (ok[i]) active_.push_back(claims[i].first);
  std::sort(active_.begin(), active_.end());
  active_.erase(std::unique(active_.begin(), active_.end()), active_.end());
  return refused;
}

uint32_t ClaimedChildVault::claim_next(std::string_view connection_id) {
  const uint32_t child = registry_.claim_next(connection_id);
  // A new child is the highest ever claimed, so this is an append unless another process
  // sharing the registry claimed past it meanwhile (then the insert keeps the order).
  std::unique_lock lock(mu_);
  const auto it = std::lower_bound(active_.begin(), active_.end(), child);
  if (it == active_.end() || *it != child) active_.insert(it, child);
  return child;
}

void ClaimedChildVault::retire(uint32_t child) {
  // The set first: from here on the child signs nothing, even while the row is being written.
  {
    std::unique_lock lock(mu_);
    const auto it = std::lower_bound(active_.begin(), active_.end(), child);
    if (it != active_.end() && *it == child) active_.erase(it);
  }
  registry_.retire(child);
}

void refuse_missing_vault_with_claims(const fs::path& vault_file, const fs::path& registry_file) {
  std::error_code ec;
  if (fs::exists(vault_file, ec) || !fs::exists(registry_file, ec)) return;
  ChildRegistry registry(registry_file);
  const size_t claimed = registry.claimed_count();
  if (claimed == 0) return;
  const std::optional<std::string> fp = registry.seed_fingerprint();
  throw VaultError("the vault " + vault_file.string() + " is missing while " +
                   std::to_string(claimed) + " key children are claimed in " +
                   registry_file.string() +
                   (fp ? " (their seed's child 0 is " + *fp + ")" : std::string()) + ". Restore " +
                   vault_file.string() +
                   " from backup; a new seed would change every car's address, so none is "
                   "created (not even with vault.create_if_missing)");
}

}  // namespace oemlink::vault
