// The connections an offline command (verify --keys, keys list, secrets set|list) must know:
// linked and API-added ones live only in the connection store, so the YAML alone is not the
// deployment's list. The store is only read; the YAML covers what it does not hold yet (before
// the first `oemlink run`, or a car just added to the file).
#pragma once

#include "core/config/config.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace oemlink::cli {

struct KnownConnection {
  std::string id;
  std::string driver;
  uint32_t key_child = 0;
  uint64_t vehicle_token_id = 0;
  uint64_t synthetic_token_id = 0;
  std::string state = "active";  // host::ConnectionState's name; YAML-only ones are "active"
  std::string source = "config";
};

// Every connection: the store's rows (revoked ones included) in insertion order, then the YAML's
// connections the store does not hold. `fn` returning false stops. Throws
// store::ConnectionStoreError naming the file when the store exists but cannot be read.
void for_each_known_connection(const config::Config& cfg,
                               const std::function<bool(const KnownConnection&)>& fn);

// One connection by id (store first, then the YAML); nullopt when neither has it.
std::optional<KnownConnection> find_known_connection(const config::Config& cfg,
                                                     std::string_view id);

// Where the lookups above read: `<data_dir>/connections.db`, or "the configuration <file>" when
// the store does not exist yet (for messages).
std::string known_connections_source(const config::Config& cfg);

}  // namespace oemlink::cli
