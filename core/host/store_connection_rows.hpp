// StoreConnectionRows: the daemon's ConnectionRows, forwarding to the store::ConnectionStore the
// Runtime opened at start. Kept apart from connection_rows.hpp so that what includes the
// interface does not need the store's implementation to link.
#pragma once

#include "core/host/connection_rows.hpp"
#include "core/store/connection_store.hpp"

namespace oemlink::host {

// The daemon's rows: a thin forwarder to the store the Runtime opened at start.
class StoreConnectionRows final : public ConnectionRows {
 public:
  explicit StoreConnectionRows(store::ConnectionStore& store) : store_(store) {}
  std::optional<store::StoredConnection> get(std::string_view id) override {
    return store_.get(id);
  }
  std::optional<store::StoredConnection> find_vehicle(std::string_view driver,
                                                      std::string_view vehicle_id,
                                                      std::string_view vin) override {
    return store_.find_vehicle(driver, vehicle_id, vin);
  }
  std::vector<std::string> insert(std::span<const store::StoredConnection> rows) override {
    return store_.insert(rows);
  }
  bool set_state(std::string_view id, std::string_view state, std::string_view reason,
                 int64_t now_ms) override {
    return store_.set_state(id, state, reason, now_ms);
  }
  bool set_tokens(std::string_view id, uint64_t vehicle_token_id,
                  uint64_t synthetic_token_id) override {
    return store_.set_tokens(id, vehicle_token_id, synthetic_token_id);
  }
  std::optional<std::string> set_mint_once(std::string_view id,
                                           std::string_view mint_json) override {
    return store_.set_mint_once(id, mint_json);
  }
  std::vector<store::StoredConnection> page(std::string_view after, size_t limit,
                                            std::string_view state) override {
    return store_.page(after, limit, state);
  }
  size_t count(std::string_view state) override { return store_.count(state); }
  std::map<std::string, size_t> counts_by_state() override { return store_.counts_by_state(); }

 private:
  store::ConnectionStore& store_;
};

}  // namespace oemlink::host
