// An in-memory host::ConnectionControl for the linking tests: connections by id, the secrets each
// was given, key children counted up from 1, `done` called at once (as the real one may).
#pragma once

#include "core/host/connection_control.hpp"

#include <map>

namespace oemlink::link::testing {

class FakeConnectionControl final : public host::ConnectionControl {
 public:
  struct Row {
    host::ConnectionView view;
    std::vector<std::pair<std::string, std::string>> secrets;
  };
  std::map<std::string, Row, std::less<>> rows;
  uint32_t next_child = 1;
  int adds = 0, reauths = 0;
  // When set, the next call answers with this error instead.
  host::ControlError fail_next = host::ControlError::none;

  host::ConnectionView& put(std::string id, std::string driver, std::string vehicle_id,
                            std::string vin, host::ConnectionState state) {
    Row& r = rows[id];
    r.view.id = std::move(id);
    r.view.driver = std::move(driver);
    r.view.vehicle_id = std::move(vehicle_id);
    r.view.vin = std::move(vin);
    r.view.state = state;
    r.view.key_child = next_child++;
    r.view.device_address = address_of(r.view.key_child);
    return r.view;
  }

  void add(std::vector<host::NewConnection> cs, host::ControlDone done) override {
    ++adds;
    host::ControlResult out;
    if (failed(out)) return done(std::move(out));
    for (size_t i = 0; i < cs.size(); ++i) {
      host::NewConnection& n = cs[i];
      if (auto existing = find_vehicle(n.driver, n.vehicle_id, n.vin)) {
        out.refused.emplace_back(i, "already linked as connection " + existing->id);
        continue;
      }
      std::string id = n.id.empty() ? n.driver + "-" + std::to_string(rows.size() + 1) : n.id;
      host::ConnectionView& v =
          put(id, n.driver, n.vehicle_id, n.vin, host::ConnectionState::active);
      v.display_name = n.display_name;
      v.identifiers_json = n.identifiers_json;
      v.source = n.source;
      rows[id].secrets = n.secrets.items();
      out.connections.push_back(v);
    }
    done(std::move(out));
  }
  void reauthorize(const std::string& id, host::SecretPairs secrets,
                   host::ControlDone done) override {
    ++reauths;
    host::ControlResult out;
    if (failed(out)) return done(std::move(out));
    auto it = rows.find(id);
    if (it == rows.end()) return done(not_found(id));
    it->second.secrets = secrets.items();
    it->second.view.state = host::ConnectionState::active;
    out.connections.push_back(it->second.view);
    done(std::move(out));
  }
  void pause(const std::string&, std::string, host::ControlDone done) override { done({}); }
  void resume(const std::string&, host::ControlDone done) override { done({}); }
  void revoke(const std::string&, std::string, host::ControlDone done) override { done({}); }
  void poll_now(const std::string&, host::ControlDone done) override { done({}); }
  void set_tokens(const std::string&, uint64_t, uint64_t, host::ControlDone done) override {
    done({});
  }
  void set_mint(const std::string& id, std::string mint_json, host::ControlDone done) override {
    auto it = rows.find(id);
    if (it == rows.end()) return done(not_found(id));
    if (it->second.view.mint_json.empty()) it->second.view.mint_json = std::move(mint_json);
    host::ControlResult out;
    out.connections.push_back(it->second.view);
    done(std::move(out));
  }

  std::optional<host::ConnectionView> find(std::string_view id) const override {
    auto it = rows.find(id);
    if (it == rows.end()) return std::nullopt;
    return it->second.view;
  }
  std::optional<host::ConnectionView> find_vehicle(std::string_view driver,
                                                   std::string_view vehicle_id,
                                                   std::string_view vin) const override {
    for (const auto& [id, r] : rows) {
      const host::ConnectionView& v = r.view;
      if (v.driver != driver || v.state == host::ConnectionState::revoked) continue;
      if (!vehicle_id.empty() && v.vehicle_id == vehicle_id) return v;
      if (!vin.empty() && v.vin == vin) return v;
    }
    return std::nullopt;
  }
  host::ConnectionPage list(std::string_view, size_t,
                            std::optional<host::ConnectionState>) const override {
    return {};
  }
  std::map<host::ConnectionState, size_t> counts() const override { return {}; }

  static host::ControlResult not_found(const std::string& id) {
    host::ControlResult r;
    r.error = host::ControlError::not_found;
    r.message = "no connection " + id;
    return r;
  }

  static std::string address_of(uint32_t child) {
    std::string hex = std::to_string(child);
    return "0x" + std::string(40 - hex.size(), '0') + hex;
  }

 private:
  bool failed(host::ControlResult& out) {
    if (fail_next == host::ControlError::none) return false;
    out.error = std::exchange(fail_next, host::ControlError::none);
    out.message = "the store is down";
    return true;
  }
};

}  // namespace oemlink::link::testing
