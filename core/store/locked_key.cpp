#include "core/store/locked_key.hpp"

#include <openssl/crypto.h>
#include <sys/mman.h>
#include <unistd.h>

#include <new>

namespace oemlink::store {

LockedKey::LockedKey(const DataKey& key) {
  const long page = sysconf(_SC_PAGESIZE);
  const size_t size = page > 0 ? static_cast<size_t>(page) : 4096;
  page_ = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  mmapped_ = page_ != MAP_FAILED;
  if (!mmapped_) {
    page_ = ::operator new(sizeof(DataKey));
  } else {
    (void)madvise(page_, size, MADV_DONTDUMP);
  }
  locked_ = mlock(page_, mmapped_ ? size : sizeof(DataKey)) == 0;
  key_ = new (page_) DataKey(key);
}

LockedKey::~LockedKey() {
  OPENSSL_cleanse(key_->data(), key_->size());
  const long page = sysconf(_SC_PAGESIZE);
  const size_t size = page > 0 ? static_cast<size_t>(page) : 4096;
  if (locked_) (void)munlock(page_, mmapped_ ? size : sizeof(DataKey));
  if (mmapped_) {
    munmap(page_, size);
  } else {
    ::operator delete(page_);
  }
}

}  // namespace oemlink::store
