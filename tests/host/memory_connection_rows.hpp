// An in-memory ConnectionRows with the store's rules (core/store/connection_store.hpp): unique
// ids, one live connection per car (driver + vehicle id, driver + VIN), unique key children, a
// revoked row never changes state again. Lifecycle tests run against it; it also counts the
// state writes, so "persisted once per transition" is checked.
#pragma once

#include "core/host/connection_rows.hpp"

#include <algorithm>
#include <mutex>
#include <stdexcept>
#include <string>

namespace oemlink::host::testing {

class MemoryConnectionRows final : public ConnectionRows {
 public:
  std::optional<store::StoredConnection> get(std::string_view id) override {
    std::lock_guard lock(mu_);
    auto it = rows_.find(std::string(id));
    if (it == rows_.end()) return std::nullopt;
    return it->second;
  }
  std::optional<store::StoredConnection> find_vehicle(std::string_view driver,
                                                      std::string_view vehicle_id,
                                                      std::string_view vin) override {
    std::lock_guard lock(mu_);
    return live_car(driver, vehicle_id, vin);
  }
  std::vector<std::string> insert(std::span<const store::StoredConnection> rows) override {
    std::lock_guard lock(mu_);
    if (fail_writes) throw std::runtime_error("disk I/O error");
    std::vector<std::string> why(rows.size());
    for (size_t i = 0; i < rows.size(); ++i) {
      const auto& r = rows[i];
      if (rows_.contains(r.id)) {
        why[i] = "id " + r.id + " exists";
      } else if (auto car = live_car(r.driver, r.vehicle_id, r.vin)) {
        why[i] = "car already linked as " + car->id;
      } else if (std::any_of(rows_.begin(), rows_.end(),
                             [&](auto& kv) { return kv.second.key_child == r.key_child; })) {
        why[i] = "key child taken";
      } else {
        rows_[r.id] = r;
        ++inserted;
      }
    }
    return why;
  }
  bool set_state(std::string_view id, std::string_view state, std::string_view reason,
                 int64_t now_ms) override {
    std::lock_guard lock(mu_);
    if (fail_writes) throw std::runtime_error("disk I/O error");
    auto it = rows_.find(std::string(id));
    if (it == rows_.end()) return false;
    if (it->second.state == "revoked" && state != "revoked")
      throw std::runtime_error("connection " + std::string(id) + " is revoked");
    it->second.state = state;
    it->second.reason = reason;
    it->second.changed_ms = now_ms;
    state_writes[std::string(id) + "=" + std::string(state)]++;
    return true;
  }
  bool set_tokens(std::string_view id, uint64_t v, uint64_t s) override {
    std::lock_guard lock(mu_);
    auto it = rows_.find(std::string(id));
    if (it == rows_.end()) return false;
    if (v) it->second.vehicle_token_id = v;
    if (s) it->second.synthetic_token_id = s;
    return true;
  }
  std::optional<std::string> set_mint_once(std::string_view id, std::string_view mint) override {
    std::lock_guard lock(mu_);
    auto it = rows_.find(std::string(id));
    if (it == rows_.end()) return std::nullopt;
    if (it->second.mint_json.empty()) it->second.mint_json = mint;
    return it->second.mint_json;
  }
  std::vector<store::StoredConnection> page(std::string_view after, size_t limit,
                                            std::string_view state) override {
    std::lock_guard lock(mu_);
    std::vector<store::StoredConnection> out;
    for (auto it = rows_.upper_bound(std::string(after)); it != rows_.end() && out.size() < limit;
         ++it)
      if (state.empty() || it->second.state == state) out.push_back(it->second);
    return out;
  }
  size_t count(std::string_view state) override {
    std::lock_guard lock(mu_);
    return static_cast<size_t>(std::count_if(rows_.begin(), rows_.end(), [&](auto& kv) {
      return state.empty() || kv.second.state == state;
    }));
  }
  std::map<std::string, size_t> counts_by_state() override {
    std::lock_guard lock(mu_);
    std::map<std::string, size_t> out;
    for (auto& [id, r] : rows_) out[r.state]++;
    return out;
  }

  // Puts a row in as the start-up does (a connection the table already serves).
  void seed(store::StoredConnection r) {
    std::lock_guard lock(mu_);
    rows_[r.id] = std::move(r);
  }

  std::map<std::string, int> state_writes;  // "id=state" -> writes
  size_t inserted = 0;
  bool fail_writes = false;

 private:
  std::optional<store::StoredConnection> live_car(std::string_view driver,
                                                  std::string_view vehicle_id,
                                                  std::string_view vin) {
    for (auto& [id, r] : rows_) {
      if (r.driver != driver || r.state == "revoked") continue;
      if (!vehicle_id.empty() && r.vehicle_id == vehicle_id) return r;
      if (!vin.empty() && r.vin == vin) return r;
    }
    return std::nullopt;
  }

  std::mutex mu_;
  std::map<std::string, store::StoredConnection> rows_;
};

}  // namespace oemlink::host::testing
