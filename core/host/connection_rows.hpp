// ConnectionRows: what the connection lifecycle needs of the durable connection rows, so the
// lifecycle is tested against an in-memory double and runs against store::ConnectionStore
// (<data_dir>/connections.db) through StoreConnectionRows (store_connection_rows.hpp). The methods
// and their meaning are the store's (core/store/connection_store.hpp); see there.
//
// Threading: the store's: any thread.
#pragma once

#include "core/store/connection_store.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace oemlink::host {

class ConnectionRows {
 public:
  virtual ~ConnectionRows() = default;
  virtual std::optional<store::StoredConnection> get(std::string_view id) = 0;
  virtual std::optional<store::StoredConnection> find_vehicle(std::string_view driver,
                                                              std::string_view vehicle_id,
                                                              std::string_view vin) = 0;
  virtual std::vector<std::string> insert(std::span<const store::StoredConnection> rows) = 0;
  virtual bool set_state(std::string_view id, std::string_view state, std::string_view reason,
                         int64_t now_ms) = 0;
  virtual bool set_tokens(std::string_view id, uint64_t vehicle_token_id,
                          uint64_t synthetic_token_id) = 0;
  virtual std::optional<std::string> set_mint_once(std::string_view id,
                                                   std::string_view mint_json) = 0;
  virtual std::vector<store::StoredConnection> page(std::string_view after, size_t limit,
                                                    std::string_view state) = 0;
  virtual size_t count(std::string_view state) = 0;
  virtual std::map<std::string, size_t> counts_by_state() = 0;
};

}  // namespace oemlink::host
