// Memory for secrets (the seed, derived child keys, the KEK, data keys): whole anonymous pages of
// their own, mlock()ed so they are not swapped out, excluded from core dumps (MADV_DONTDUMP),
// and wiped before munmap. Own pages because mlock/munlock act on whole pages and must not
// unlock a neighbour's data.
// mlock is best effort: without CAP_IPC_LOCK a small RLIMIT_MEMLOCK refuses it. The first
// refusal in a process is logged once as a warning with the reason; the keys still work.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "core/common/data_key.hpp"

namespace oemlink {

class LockedBuffer {
 public:
  LockedBuffer() = default;
  // Zero-filled `size` bytes. Throws std::runtime_error when the pages cannot be mapped.
  explicit LockedBuffer(size_t size);
  ~LockedBuffer();
  LockedBuffer(const LockedBuffer&) = delete;
  LockedBuffer& operator=(const LockedBuffer&) = delete;
  // Moves hand the pages over (addresses stay valid); the source is left empty.
  LockedBuffer(LockedBuffer&& other) noexcept;
  LockedBuffer& operator=(LockedBuffer&& other) noexcept;

  uint8_t* data() { return data_; }
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  std::span<uint8_t> span() { return {data_, size_}; }
  std::span<const uint8_t> span() const { return {data_, size_}; }
  // Whether mlock succeeded (for diagnostics only; nothing depends on it).
  bool locked() const { return locked_; }

 private:
  void release() noexcept;

  uint8_t* data_ = nullptr;
  size_t size_ = 0;
  size_t mapped_ = 0;
  bool locked_ = false;
};

// One DataKey in a LockedBuffer of its own: zero until written, wiped when destroyed.
class LockedDataKey {
 public:
  LockedDataKey();
  explicit LockedDataKey(const DataKey& key) : LockedDataKey() { *key_ = key; }

  DataKey& get() { return *key_; }
  const DataKey& get() const { return *key_; }

 private:
  LockedBuffer buf_;
  DataKey* key_;
};

}  // namespace oemlink
