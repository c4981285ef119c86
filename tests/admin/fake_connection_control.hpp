// An in-memory host::ConnectionControl for the admin API's tests: the rules the real one keeps
// that the API's answers depend on (ids unique, one live connection per car, revoked is final,
// resume only from paused or needs_reauth), each call recorded. `defer` holds answers until
// release(), to test answers that come after the call returned.
#pragma once

#include "core/host/connection_control.hpp"

#include <cstdio>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace oemlink::admin::testing {

class FakeConnectionControl final : public host::ConnectionControl {
 public:
  struct Call {
    std::string verb, id, detail;
  };

  // A connection as the YAML would have made it.
  host::ConnectionView& put(const std::string& id, const std::string& driver = "tesla",
                            host::ConnectionState state = host::ConnectionState::active) {
    host::ConnectionView v;
    v.id = id;
    v.driver = driver;
    v.vin = "5YJ3E1EA7KF" + std::to_string(100000 + next_child_);
    v.key_child = next_child_++;
    v.device_address = address_of(v.key_child);
    v.state = state;
    v.phase = "idle";
    v.created_ms = v.changed_ms = 1'700'000'000'000;
    index(v);
    return rows_[id] = v;
  }

  void add(std::vector<host::NewConnection> connections, host::ControlDone done) override {
    calls.push_back({"add", "", std::to_string(connections.size())});
    host::ControlResult r;
    if (fail_next) return finish(std::move(done), take_failure());
    for (size_t i = 0; i < connections.size(); ++i) {
      host::NewConnection& c = connections[i];
      if (c.driver != "tesla" && c.driver != "smartcar") {
        r = {host::ControlError::not_found, "no driver " + c.driver, {}, {}};
        return finish(std::move(done), std::move(r));
      }
      std::string id = c.id.empty() ? c.driver + "-" + std::to_string(100000 + next_child_) : c.id;
      if (rows_.count(id) || find_vehicle(c.driver, c.vehicle_id, c.vin)) {
        r.refused.emplace_back(i, "car or id already has a connection (" + id + ")");
        continue;
      }
      host::ConnectionView& v = put(id, c.driver);
      v.vin = c.vin;
      v.vehicle_id = c.vehicle_id;
      v.display_name = c.display_name;
      v.identifiers_json = c.identifiers_json;
      v.vehicle_token_id = c.vehicle_token_id;
      v.synthetic_token_id = c.synthetic_token_id;
      v.source = c.source;
      index(v);
      for (auto& [k, value] : c.secrets.items()) secrets[id][k] = value;
      if (c.poll_interval) poll_intervals[id] = *c.poll_interval;
      r.connections.push_back(v);
    }
    finish(std::move(done), std::move(r));
  }

  void reauthorize(const std::string& id, host::SecretPairs, host::ControlDone done) override {
    calls.push_back({"reauthorize", id, ""});
    change(id, std::move(done), [](host::ConnectionView& v) {
      v.state = host::ConnectionState::active;
      return std::string();
    });
  }
  void pause(const std::string& id, std::string reason, host::ControlDone done) override {
    calls.push_back({"pause", id, reason});
    change(id, std::move(done), [reason](host::ConnectionView& v) {
      v.state = host::ConnectionState::paused;
      v.reason = reason;
      return std::string();
    });
  }
  void resume(const std::string& id, host::ControlDone done) override {
    calls.push_back({"resume", id, ""});
    change(id, std::move(done), [](host::ConnectionView& v) {
      if (v.state == host::ConnectionState::active) return std::string("is active already");
      v.state = host::ConnectionState::active;
      v.reason.clear();
      return std::string();
    });
  }
  void revoke(const std::string& id, std::string reason, host::ControlDone done) override {
    calls.push_back({"revoke", id, reason});
    change(id, std::move(done), [this, id, reason](host::ConnectionView& v) {
      v.state = host::ConnectionState::revoked;
      v.reason = reason;
      secrets.erase(id);
      return std::string();
    });
  }
  void poll_now(const std::string& id, host::ControlDone done) override {
    calls.push_back({"poll", id, ""});
    change(id, std::move(done), [](host::ConnectionView& v) {
      if (v.state != host::ConnectionState::active) return std::string("is not active");
      v.phase = "polling";
      return std::string();
    });
  }
  void set_tokens(const std::string& id, uint64_t vehicle, uint64_t synthetic,
                  host::ControlDone done) override {
    calls.push_back({"set_tokens", id, std::to_string(vehicle) + "/" + std::to_string(synthetic)});
    change(id, std::move(done), [vehicle, synthetic](host::ConnectionView& v) {
      if (vehicle) v.vehicle_token_id = vehicle;
      if (synthetic) v.synthetic_token_id = synthetic;
      return std::string();
    });
  }
  void set_mint(const std::string& id, std::string mint_json, host::ControlDone done) override {
    calls.push_back({"set_mint", id, ""});
    change(id, std::move(done), [mint_json](host::ConnectionView& v) {
      if (v.mint_json.empty()) v.mint_json = mint_json;
      return std::string();
    });
  }

  std::optional<host::ConnectionView> find(std::string_view id) const override {
    auto it = rows_.find(std::string(id));
    if (it == rows_.end()) return std::nullopt;
    return it->second;
  }
  std::optional<host::ConnectionView> find_vehicle(std::string_view driver,
                                                   std::string_view vehicle_id,
                                                   std::string_view vin) const override {
    // Indexed, so that adding 10,000 measures the API rather than this fake.
    auto it = !vehicle_id.empty() ? cars_.find(car_key(driver, "v", vehicle_id))
              : !vin.empty()      ? cars_.find(car_key(driver, "vin", vin))
                                  : cars_.end();
    if (it == cars_.end()) return std::nullopt;
    const host::ConnectionView& v = rows_.at(it->second);
    if (v.state == host::ConnectionState::revoked) return std::nullopt;
    return v;
  }
  host::ConnectionPage list(std::string_view after, size_t limit,
                            std::optional<host::ConnectionState> state) const override {
    host::ConnectionPage page;
    for (auto& [id, v] : rows_) {
      if (state && v.state != *state) continue;
      ++page.total;
      if (!after.empty() && id <= after) continue;
      if (page.items.size() == limit) {
        page.next_after = page.items.back().id;
        continue;
      }
      page.items.push_back(v);
    }
    return page;
  }
  std::map<host::ConnectionState, size_t> counts() const override {
    std::map<host::ConnectionState, size_t> out;
    for (auto& [id, v] : rows_) ++out[v.state];
    return out;
  }

  // Answers held while `defer` is set.
  void release() {
    while (!held_.empty()) {
      auto f = std::move(held_.front());
      held_.pop_front();
      f();
    }
  }

  std::vector<Call> calls;
  std::map<std::string, std::map<std::string, std::string>> secrets;
  std::map<std::string, std::chrono::milliseconds> poll_intervals;
  bool defer = false;
  // The next call fails with this error (then it is cleared).
  std::optional<host::ControlError> fail_next;

  static std::string address_of(uint32_t child) {
    char buf[43];
    std::snprintf(buf, sizeof buf, "0x%040x", child + 0xABC);
    return buf;
  }

 private:
  static std::string car_key(std::string_view driver, std::string_view kind,
                             std::string_view value) {
    return std::string(driver) + "\n" + std::string(kind) + "\n" + std::string(value);
  }
  void index(const host::ConnectionView& v) {
    if (!v.vehicle_id.empty()) cars_[car_key(v.driver, "v", v.vehicle_id)] = v.id;
    if (!v.vin.empty()) cars_[car_key(v.driver, "vin", v.vin)] = v.id;
  }

  host::ControlResult take_failure() {
    host::ControlResult r{*fail_next, "the store cannot be reached right now", {}, {}};
    fail_next.reset();
    return r;
  }

  template <class Fn>
  void change(const std::string& id, host::ControlDone done, Fn fn) {
    if (fail_next) return finish(std::move(done), take_failure());
    host::ControlResult r;
    auto it = rows_.find(id);
    if (it == rows_.end()) {
      r = {host::ControlError::not_found, "no connection " + id, {}, {}};
    } else if (it->second.state == host::ConnectionState::revoked) {
      r = {host::ControlError::conflict, id + " is revoked", {}, {}};
    } else if (std::string why = fn(it->second); !why.empty()) {
      r = {host::ControlError::conflict, id + " " + why, {}, {}};
    } else {
      it->second.changed_ms += 1000;
      r.connections.push_back(it->second);
    }
    finish(std::move(done), std::move(r));
  }

  void finish(host::ControlDone done, host::ControlResult r) {
    if (!defer) return done(std::move(r));
    held_.push_back([done = std::move(done), r = std::move(r)]() mutable { done(std::move(r)); });
  }

  std::map<std::string, host::ConnectionView> rows_;
  std::map<std::string, std::string> cars_;  // car_key -> id
  std::deque<std::function<void()>> held_;
  uint32_t next_child_ = 1;
};

}  // namespace oemlink::admin::testing
