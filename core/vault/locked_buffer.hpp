// Memory for the seed and derived child keys: whole anonymous pages of their own, mlock()ed so
// they are not swapped out (best effort: without CAP_IPC_LOCK a RLIMIT_MEMLOCK refusal is
// silently accepted), excluded from core dumps (MADV_DONTDUMP), and wiped before munmap.
// Own pages because mlock/munlock act on whole pages and must not unlock a neighbour's data.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace oemlink::vault {

class LockedBuffer {
 public:
  LockedBuffer() = default;
  // Zero-filled `size` bytes. Throws VaultError when the pages cannot be mapped.
  explicit LockedBuffer(size_t size);
  ~LockedBuffer();
  LockedBuffer(const LockedBuffer&) = delete;
  LockedBuffer& operator=(const LockedBuffer&) = delete;
  // Moves hand the pages over; the source is left empty.
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

}  // namespace oemlink::vault
