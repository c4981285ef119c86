#include "core/vault/in_process_vault.hpp"

#include <exception>
#include <string>

#include "core/common/secure_wipe.hpp"
#include "core/crypto/bip32.hpp"

namespace oemlink::vault {
namespace {

// A child key on the stack, wiped on every way out of the scope.
struct ScopedKey {
  crypto::PrivateKey key{};
  ~ScopedKey() { secure_wipe(key.data(), key.size()); }
};

}  // namespace

void check_child_number(uint32_t child) {
  if (child >= 0x8000'0000u) {
    throw VaultError("child number " + std::to_string(child) +
                     " is out of range (hardened children are 0 .. 2147483647)");
  }
}

InProcessVault::InProcessVault(LockedBuffer seed, size_t cache_entries)
    : seed_(std::move(seed)), cache_(cache_entries) {
  if (seed_.size() < 16 || seed_.size() > 64) {
    throw VaultError("a vault seed must be 16..64 bytes; got " + std::to_string(seed_.size()));
  }
}

void InProcessVault::child_key(uint32_t child, crypto::PrivateKey& key) {
  check_child_number(child);
  {
    std::lock_guard lock(mu_);
    if (cache_.get_key(child, key)) return;
  }
  // Derived outside the lock so a miss does not stall other threads' signing.
  try {
    key = crypto::derive_hardened_child(seed_.span(), child);
  } catch (const VaultError&) {
    throw;
  } catch (const std::exception& e) {
    throw VaultError(std::string("cannot derive child ") + std::to_string(child) + ": " + e.what());
  }
  std::lock_guard lock(mu_);
  cache_.put(child, key, std::nullopt);
}

crypto::Address20 InProcessVault::address(uint32_t child) {
  check_child_number(child);
  {
    std::lock_guard lock(mu_);
    if (auto a = cache_.get_address(child)) return *a;
  }
  ScopedKey k;
  child_key(child, k.key);
  const crypto::Address20 a = crypto::address_of(k.key);
  std::lock_guard lock(mu_);
  cache_.put(child, k.key, a);
  return a;
}

crypto::Signature65 InProcessVault::sign_hash(uint32_t child, const crypto::Hash32& hash32) {
  ScopedKey k;
  child_key(child, k.key);
  return crypto::sign_hash(k.key, hash32);
}

std::vector<std::pair<size_t, std::string>> InProcessVault::claim_all(ClaimList) {
  throw VaultError(
      "this vault keeps no child registry (a one-shot tool's); claims go through "
      "the configured vault");
}

void InProcessVault::retire(uint32_t) {
  throw VaultError(
      "this vault keeps no child registry (a one-shot tool's); retire children "
      "through the configured vault");
}

uint32_t InProcessVault::claim_next(std::string_view) {
  throw VaultError(
      "this vault keeps no child registry (a one-shot tool's); new children are claimed "
      "through the configured vault");
}

size_t InProcessVault::cached_children() {
  std::lock_guard lock(mu_);
  return cache_.size();
}

}  // namespace oemlink::vault
