// The ABI's secret service over the encrypted SecretStore. The store is opened on first use, so
// deployments whose drivers keep no secrets create no key file. Secrets are namespaced by owner:
// "driver:<name>/conn:<id>" for a connection served by driver instance <name>, "driver:<name>"
// for instance-wide ones (a partner token). Driver names cannot hold '/', so no owner collides
// with another, and a connection id moved to another driver does not inherit the old driver's
// tokens.
//
// Upgrade: older versions keyed a connection's secrets "conn:<id>". The first access to a
// connection's owner moves that connection's "conn:<id>" rows to it (re-sealed), unless it already
// holds secrets. Connection ids are unique in a configuration, so the one driver serving the id
// adopts them: after an upgrade that also moved the connection to another driver, re-seed its
// tokens.
//
// Threading: any thread (drivers may read secrets from their own threads); the store serialises.
#pragma once

#include "core/store/secret_store.hpp"

#include <oemlink/driver.h>

#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>

namespace oemlink::host {

class SecretAccess {
 public:
  using Opener = std::function<std::unique_ptr<store::SecretStore>()>;
  explicit SecretAccess(Opener opener) : opener_(std::move(opener)) {}

  static std::string connection_owner(std::string_view driver, std::string_view connection_id) {
    return driver_owner(driver) + "/conn:" + std::string(connection_id);
  }
  // The owner older versions used; only read to migrate.
  static std::string legacy_connection_owner(std::string_view connection_id) {
    return "conn:" + std::string(connection_id);
  }
  static std::string driver_owner(std::string_view driver) {
    return "driver:" + std::string(driver);
  }

  // OK with the value copied to buf; RETRY when `cap` is too small (*size says how much is
  // needed); ERROR when there is no such secret. Throws when the store fails (the message names
  // the store, never a value). The plaintext copy is wiped before returning.
  // With `legacy_owner`, its secrets move to `owner` on the first access in this process.
  oemlink_status get(const std::string& owner, std::string_view key, char* buf, size_t cap,
                     size_t* size, const std::string& legacy_owner = {});
  // All pairs in one durable transaction. Throws when the store fails.
  void put(const std::string& owner,
           std::span<const std::pair<std::string_view, std::string_view>> pairs,
           const std::string& legacy_owner = {});
  // Every secret of `owner` replaced by `pairs`, in one durable transaction (re-authentication).
  void replace(const std::string& owner,
               std::span<const std::pair<std::string_view, std::string_view>> pairs);
  // Every secret of `owner` gone from the store's files (revocation). Throws when the store
  // fails or could not make the wipe complete.
  void erase(const std::string& owner);

 private:
  store::SecretStore& store();
  void adopt_once(const std::string& owner, const std::string& legacy_owner);

  Opener opener_;
  std::mutex mu_;
  std::unique_ptr<store::SecretStore> store_;
  std::set<std::string, std::less<>> adopted_;  // owners whose legacy rows were looked for
};

}  // namespace oemlink::host
