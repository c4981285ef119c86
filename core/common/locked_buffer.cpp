#include "core/common/locked_buffer.hpp"

#include <spdlog/spdlog.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>
#include <utility>

#include "core/common/secure_wipe.hpp"

namespace oemlink {
namespace {

size_t page_size() {
  const long page = sysconf(_SC_PAGESIZE);
  return page > 0 ? static_cast<size_t>(page) : 4096;
}

// Once per process: every later buffer fails for the same reason, and a line per key would
// flood the log of a host with thousands of cached child keys.
void warn_mlock_failed_once(int err) {
  static std::atomic<bool> warned{false};
  if (warned.exchange(true)) return;
  spdlog::warn(
      "key memory: mlock failed ({}); keys may be swapped to disk. Raise the locked-memory "
      "limit (ulimit -l, LimitMEMLOCK= in systemd) or grant CAP_IPC_LOCK",
      std::strerror(err));
}

}  // namespace

LockedBuffer::LockedBuffer(size_t size) : size_(size) {
  const size_t page = page_size();
  mapped_ = ((size == 0 ? 1 : size) + page - 1) / page * page;
  void* p = mmap(nullptr, mapped_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    throw std::runtime_error("cannot map " + std::to_string(mapped_) +
                             " bytes for key memory: " + std::strerror(errno));
  }
  data_ = static_cast<uint8_t*>(p);
  (void)madvise(p, mapped_, MADV_DONTDUMP);
#ifdef MADV_WIPEONFORK
  // A fork()ed child (a host may fork helpers) sees zeros instead of a copy of the keys, and can
  // still run this destructor safely, which MADV_DONTFORK would not allow.
  (void)madvise(p, mapped_, MADV_WIPEONFORK);
#endif
  locked_ = mlock(p, mapped_) == 0;
  if (!locked_) warn_mlock_failed_once(errno);
}

LockedBuffer::~LockedBuffer() {
  release();
}

LockedBuffer::LockedBuffer(LockedBuffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      mapped_(std::exchange(other.mapped_, 0)),
      locked_(std::exchange(other.locked_, false)) {}

LockedBuffer& LockedBuffer::operator=(LockedBuffer&& other) noexcept {
  if (this != &other) {
    release();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    mapped_ = std::exchange(other.mapped_, 0);
    locked_ = std::exchange(other.locked_, false);
  }
  return *this;
}

void LockedBuffer::release() noexcept {
  if (data_ == nullptr) return;
  secure_wipe(data_, mapped_);
  if (locked_) (void)munlock(data_, mapped_);
  (void)munmap(data_, mapped_);
  data_ = nullptr;
  size_ = mapped_ = 0;
  locked_ = false;
}

LockedDataKey::LockedDataKey() : buf_(sizeof(DataKey)), key_(new (buf_.data()) DataKey{}) {}

}  // namespace oemlink
