#include "core/vault/child_key_cache.hpp"

#include <new>

#include "core/common/secure_wipe.hpp"

namespace oemlink::vault {

ChildKeyCache::ChildKeyCache(size_t capacity)
    : capacity_(capacity), memory_(capacity == 0 ? 0 : capacity * sizeof(Slot)) {
  if (capacity_ == 0) return;
  // One placement-new per slot: array placement-new may reserve a size cookie we did not map.
  for (size_t i = 0; i < capacity_; ++i) new (memory_.data() + i * sizeof(Slot)) Slot{};
  slots_ = std::launder(reinterpret_cast<Slot*>(memory_.data()));
  index_.reserve(capacity_);
}

bool ChildKeyCache::get_key(uint32_t child, crypto::PrivateKey& key) {
  auto it = index_.find(child);
  if (it == index_.end()) return false;
  Slot& s = slots_[it->second];
  s.referenced = true;
  key = s.key;
  return true;
}

std::optional<crypto::Address20> ChildKeyCache::get_address(uint32_t child) {
  auto it = index_.find(child);
  if (it == index_.end()) return std::nullopt;
  Slot& s = slots_[it->second];
  if (!s.has_address) return std::nullopt;
  s.referenced = true;
  return s.address;
}

void ChildKeyCache::put(uint32_t child, const crypto::PrivateKey& key,
                        const std::optional<crypto::Address20>& address) {
  if (capacity_ == 0) return;
  auto it = index_.find(child);
  size_t i;
  if (it != index_.end()) {
    i = it->second;
  } else {
    i = take_slot();
    index_.emplace(child, i);
  }
  Slot& s = slots_[i];
  s.key = key;
  s.child = child;
  s.used = true;
  s.referenced = true;
  if (address) {
    s.address = *address;
    s.has_address = true;
  }
}

size_t ChildKeyCache::take_slot() {
  // At most two sweeps: the first clears every referenced bit, the second must find a victim.
  for (;;) {
    Slot& s = slots_[hand_];
    const size_t i = hand_;
    hand_ = (hand_ + 1) % capacity_;
    if (!s.used) return i;
    if (s.referenced) {
      s.referenced = false;
      continue;
    }
    index_.erase(s.child);
    secure_wipe(&s, sizeof s);
    return i;
  }
}

}  // namespace oemlink::vault
