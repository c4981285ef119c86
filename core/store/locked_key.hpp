// The data key in its own anonymous page: mlock()ed so it is not swapped out (best effort: a
// RLIMIT_MEMLOCK refusal is ignored), excluded from core dumps, and wiped before release.
// A page of its own because mlock/munlock work on whole pages and must not unlock a neighbour.
#pragma once

#include "core/store/secret_store.hpp"

namespace oemlink::store {

class LockedKey {
 public:
  explicit LockedKey(const DataKey& key);
  ~LockedKey();
  LockedKey(const LockedKey&) = delete;
  LockedKey& operator=(const LockedKey&) = delete;

  const DataKey& get() const { return *key_; }

 private:
  DataKey* key_;
  void* page_;
  bool mmapped_;
  bool locked_;
};

}  // namespace oemlink::store
