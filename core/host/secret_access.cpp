#include "core/host/secret_access.hpp"

#include <openssl/crypto.h>

#include <cstring>

namespace oemlink::host {

store::SecretStore& SecretAccess::store() {
  std::lock_guard lock(mu_);
  if (!store_) store_ = opener_();
  return *store_;
}

oemlink_status SecretAccess::get(const std::string& owner, std::string_view key, char* buf,
                                 size_t cap, size_t* size) {
  if (size) *size = 0;
  auto v = store().get(owner, key);
  if (!v) return OEMLINK_ERROR;
  if (size) *size = v->size();
  oemlink_status st = OEMLINK_RETRY;
  if (buf && cap >= v->size()) {
    std::memcpy(buf, v->data(), v->size());
    st = OEMLINK_OK;
  }
  OPENSSL_cleanse(v->data(), v->size());
  return st;
}

void SecretAccess::put(const std::string& owner,
                       std::span<const std::pair<std::string_view, std::string_view>> pairs) {
  store().put(owner, pairs);
}

}  // namespace oemlink::host
