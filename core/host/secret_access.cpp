#include "core/host/secret_access.hpp"

#include <spdlog/spdlog.h>
#include "core/common/secure_wipe.hpp"

#include <cstring>

namespace oemlink::host {

store::SecretStore& SecretAccess::store() {
  std::lock_guard lock(mu_);
  if (!store_) store_ = opener_();
  return *store_;
}

void SecretAccess::adopt_once(const std::string& owner, const std::string& legacy_owner) {
  if (legacy_owner.empty()) return;
  {
    std::lock_guard lock(mu_);
    if (adopted_.contains(owner)) return;
  }
  store::SecretStore& s = store();
  const size_t moved = s.adopt(legacy_owner, owner);
  if (moved > 0) {
    spdlog::info("secrets: moved {} secrets of '{}' to '{}' (secrets are now kept per driver)",
                 moved, legacy_owner, owner);
  }
  std::lock_guard lock(mu_);
  adopted_.insert(owner);  // only once it worked: a failure is retried on the next access
}

oemlink_status SecretAccess::get(const std::string& owner, std::string_view key, char* buf,
                                 size_t cap, size_t* size, const std::string& legacy_owner) {
  if (size) *size = 0;
  adopt_once(owner, legacy_owner);
  auto v = store().get(owner, key);
  if (!v) return OEMLINK_ERROR;
  if (size) *size = v->size();
  oemlink_status st = OEMLINK_RETRY;
  if (buf && cap >= v->size()) {
    std::memcpy(buf, v->data(), v->size());
    st = OEMLINK_OK;
  }
  secure_wipe(v->data(), v->size());
  return st;
}

void SecretAccess::put(const std::string& owner,
                       std::span<const std::pair<std::string_view, std::string_view>> pairs,
                       const std::string& legacy_owner) {
  // Before the first write, or the legacy tokens would never be adopted (the new owner would
  // already hold secrets).
  adopt_once(owner, legacy_owner);
  store().put(owner, pairs);
}

void SecretAccess::replace(const std::string& owner,
                           std::span<const std::pair<std::string_view, std::string_view>> pairs) {
  store().replace(owner, pairs);
}

void SecretAccess::erase(const std::string& owner) {
  store().erase_connection(owner);
}

}  // namespace oemlink::host
