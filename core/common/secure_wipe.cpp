#include "core/common/secure_wipe.hpp"

#include <openssl/crypto.h>

namespace oemlink {

void secure_wipe(void* p, size_t n) noexcept {
  if (n != 0) OPENSSL_cleanse(p, n);
}

}  // namespace oemlink
