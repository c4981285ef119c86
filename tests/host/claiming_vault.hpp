// A KeyVault over a real InProcessVault (the DIMO test seed) that keeps its claims in memory the
// way the vault's child registry does: claim_next hands out one more than the highest child ever
// claimed (idempotent per connection id), and only claimed, unretired children sign or give
// their address.
#pragma once

#include "core/common/locked_buffer.hpp"
#include "core/vault/in_process_vault.hpp"

#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <string>

namespace oemlink::host::testing {

class ClaimingVault final : public vault::KeyVault {
 public:
  ClaimingVault() : inner_(seed()) {}

  crypto::Address20 address(uint32_t child) override {
    check(child);
    return inner_.address(child);
  }
  crypto::Signature65 sign_hash(uint32_t child, const crypto::Hash32& h) override {
    check(child);
    return inner_.sign_hash(child, h);
  }
  std::vector<std::pair<size_t, std::string>> claim_all(ClaimList claims) override {
    std::lock_guard lock(mu_);
    std::vector<std::pair<size_t, std::string>> refused;
    for (size_t i = 0; i < claims.size(); ++i) {
      auto [child, id] = claims[i];
      auto it = owner_.find(child);
      if (it != owner_.end() && it->second != id) {
        refused.emplace_back(i, "child taken");
        continue;
      }
      owner_[child] = std::string(id);
      by_id_[std::string(id)] = child;
      next_ = std::max(next_, child + 1);
    }
    return refused;
  }
  uint32_t claim_next(std::string_view connection_id) override {
    std::lock_guard lock(mu_);
    ++claim_calls;
    if (auto it = by_id_.find(std::string(connection_id)); it != by_id_.end()) {
      if (retired_.contains(it->second))
        throw vault::VaultError("connection " + std::string(connection_id) + "'s key child " +
                                std::to_string(it->second) + " was retired");
      return it->second;
    }
    uint32_t child = next_++;
    owner_[child] = std::string(connection_id);
    by_id_[std::string(connection_id)] = child;
    return child;
  }
  void retire(uint32_t child) override {
    std::lock_guard lock(mu_);
    if (!owner_.contains(child)) throw vault::VaultError("never claimed");
    retired_.insert(child);
  }
  bool retired(uint32_t child) {
    std::lock_guard lock(mu_);
    return retired_.contains(child);
  }

  int claim_calls = 0;

 private:
  static LockedBuffer seed() {
    LockedBuffer s(32);
    for (size_t i = 0; i < 32; ++i) s.data()[i] = static_cast<uint8_t>(i * 7 + 1);
    return s;
  }
  void check(uint32_t child) {
    std::lock_guard lock(mu_);
    if (!owner_.contains(child) || retired_.contains(child))
      throw vault::VaultError("key child " + std::to_string(child) + " is not claimed or retired");
  }

  vault::InProcessVault inner_;
  std::mutex mu_;
  std::map<uint32_t, std::string> owner_;
  std::map<std::string, uint32_t> by_id_;
  std::set<uint32_t> retired_;
  uint32_t next_ = 0;
};

}  // namespace oemlink::host::testing
