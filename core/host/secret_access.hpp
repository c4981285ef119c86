// The ABI's secret service over the encrypted SecretStore. The store is opened on first use, so
// deployments whose drivers keep no secrets create no key file. Secrets are namespaced by owner:
// "conn:<id>" for a connection, "driver:<name>" for instance-wide ones (a partner token), so no
// connection id can collide with a driver's namespace.
//
// Threading: any thread (drivers may read secrets from their own threads); the store serialises.
#pragma once

#include "core/store/secret_store.hpp"

#include <oemlink/driver.h>

#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <utility>

namespace oemlink::host {

class SecretAccess {
 public:
  using Opener = std::function<std::unique_ptr<store::SecretStore>()>;
  explicit SecretAccess(Opener opener) : opener_(std::move(opener)) {}

  static std::string connection_owner(std::string_view connection_id) {
    return "conn:" + std::string(connection_id);
  }
  static std::string driver_owner(std::string_view driver) {
    return "driver:" + std::string(driver);
  }

  // OK with the value copied to buf; RETRY when `cap` is too small (*size says how much is
  // needed); ERROR when there is no such secret. Throws when the store fails (the message names
  // the store, never a value). The plaintext copy is wiped before returning.
  oemlink_status get(const std::string& owner, std::string_view key, char* buf, size_t cap,
                     size_t* size);
  // All pairs in one durable transaction. Throws when the store fails.
  void put(const std::string& owner,
           std::span<const std::pair<std::string_view, std::string_view>> pairs);

 private:
  store::SecretStore& store();

  Opener opener_;
  std::mutex mu_;
  std::unique_ptr<store::SecretStore> store_;
};

}  // namespace oemlink::host
