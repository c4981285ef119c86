// ConnectionControl: a connection's life in the running daemon, as the linking flow, the admin API
// and the CLI see it. Connections are rows of the ConnectionStore (<data_dir>/connections.db);
// the YAML's connections are reconciled into it at start. Everything here takes effect live: an
// added connection is claimed a fresh key child, stored with its secrets in one step, opened and
// scheduled; a paused or revoked one stops polling and streaming once what it has in flight is
// done (nothing emitted is dropped).
//
// States: linking (its consent is being exchanged), active, paused (by an operator), needs_reauth
// (the driver reported dead tokens), revoked (for good: tokens wiped, key child retired).
//
// Threading: every call on the host loop thread; `done` runs on the loop, possibly before the
// call returns. Writes go to disk off the loop; reads (find, list, counts) are quick (memory, or
// one indexed query) so the loop never waits long on them.
#pragma once

#include "core/common/secure_wipe.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace oemlink::host {

enum class ConnectionState { linking, active, paused, needs_reauth, revoked };

// "linking", "active", "paused", "needs_reauth", "revoked".
std::string_view state_name(ConnectionState s);
std::optional<ConnectionState> parse_state(std::string_view name);

// Where a connection came from: the YAML, the linking flow, or the admin API.
enum class ConnectionSource { config, linked, api };
std::string_view source_name(ConnectionSource s);

// Key/value secrets on their way to the secret store; wiped when destroyed.
class SecretPairs {
 public:
  SecretPairs() = default;
  SecretPairs(const SecretPairs&) = delete;
  SecretPairs& operator=(const SecretPairs&) = delete;
  SecretPairs(SecretPairs&& o) noexcept : kv_(std::move(o.kv_)) { o.kv_.clear(); }
  SecretPairs& operator=(SecretPairs&& o) noexcept {
    if (this != &o) {
      wipe();
      kv_ = std::move(o.kv_);
      o.kv_.clear();
    }
    return *this;
  }
  ~SecretPairs() { wipe(); }

  void add(std::string key, std::string value) {
    kv_.emplace_back(std::move(key), std::move(value));
  }
  const std::vector<std::pair<std::string, std::string>>& items() const { return kv_; }
  // string_view pairs over the secrets, as SecretAccess takes them; valid while this lives.
  std::vector<std::pair<std::string_view, std::string_view>> views() const {
    std::vector<std::pair<std::string_view, std::string_view>> out;
    out.reserve(kv_.size());
    for (auto& [k, v] : kv_) out.emplace_back(k, v);
    return out;
  }
  bool empty() const { return kv_.empty(); }
  size_t size() const { return kv_.size(); }
  SecretPairs copy() const {
    SecretPairs c;
    c.kv_ = kv_;
    return c;
  }

 private:
  void wipe() noexcept {
    for (auto& [k, v] : kv_) secure_wipe(v);
    kv_.clear();
  }
  std::vector<std::pair<std::string, std::string>> kv_;
};

// What the admin API, the CLI and the linking answers show of a connection. Never a token.
struct ConnectionView {
  std::string id;
  std::string driver;      // the driver instance's name
  std::string vehicle_id;  // the maker's id for the car ("" when unknown: a YAML connection)
  std::string vin;
  std::string display_name;
  std::string identifiers_json = "{}";
  uint32_t key_child = 0;
  std::string device_address;  // EIP-55 address of the key child, "" when the vault cannot say
  uint64_t vehicle_token_id = 0;
  uint64_t synthetic_token_id = 0;
  ConnectionState state = ConnectionState::active;
  std::string reason;      // why the last state change happened
  int64_t changed_ms = 0;  // Unix ms of the last state change
  int64_t created_ms = 0;
  ConnectionSource source = ConnectionSource::config;
  std::string phase;  // the scheduler's view: "idle", "polling", "asleep", "streaming", "stopped"
  std::string mint_json;  // the stored mint request (JSON object), "" until one was made
};

struct NewConnection {
  std::string id;      // empty: generated, "<driver>-<12 hex digits>"
  std::string driver;  // a configured driver instance
  std::string vehicle_id;
  std::string vin;
  std::string display_name;
  std::string identifiers_json = "{}";
  uint64_t vehicle_token_id = 0;
  uint64_t synthetic_token_id = 0;
  std::optional<std::chrono::milliseconds> poll_interval;  // the driver's when absent
  SecretPairs secrets;  // stored for the connection in the same step as its row
  ConnectionSource source = ConnectionSource::api;
};

enum class ControlError {
  none,
  not_found,    // no such connection or driver
  conflict,     // the car or id already has a live connection; a revoked one cannot change
  bad_request,  // malformed input (the message names the field)
  unavailable,  // shutting down, or the store or vault cannot be reached right now
};

// The HTTP status an answer carries for `e` wherever ConnectionControl is served over HTTP (the
// admin API, the linking flow): 200, 404, 409, 400, 503.
int http_status_of(ControlError e);

struct ControlResult {
  ControlError error = ControlError::none;
  std::string message;
  std::vector<ConnectionView> connections;  // what the call created or changed, as it is now
  // add(): the index (in the request) and reason of each connection refused while the others
  // were created (a car already linked).
  std::vector<std::pair<size_t, std::string>> refused;
  bool ok() const { return error == ControlError::none; }
  static ControlResult failure(ControlError e, std::string message) {
    ControlResult r;
    r.error = e;
    r.message = std::move(message);
    return r;
  }
};
using ControlDone = std::function<void(ControlResult)>;

struct ConnectionPage {
  std::vector<ConnectionView> items;
  std::string next_after;  // pass as `after` for the next page; empty on the last one
  size_t total = 0;        // matching connections in all pages
};

class ConnectionControl {
 public:
  virtual ~ConnectionControl() = default;

  // Creates connections. Each is refused (listed in `refused`, the others go ahead) when its
  // id exists or its car (driver + vehicle_id, or driver + VIN) has a connection that is not
  // revoked. A whole-call error (unknown driver, store down) creates nothing.
  virtual void add(std::vector<NewConnection> connections, ControlDone done) = 0;
  // New tokens for an existing connection (re-authentication): replaces its secrets, re-opens it
  // and makes it active. Its id, key child and so its device address stay the same.
  virtual void reauthorize(const std::string& id, SecretPairs secrets, ControlDone done) = 0;
  virtual void pause(const std::string& id, std::string reason, ControlDone done) = 0;
  // From paused or needs_reauth back to active (opened and scheduled again).
  virtual void resume(const std::string& id, ControlDone done) = 0;
  // For good: stops polling and streaming, wipes its secrets, retires its key child.
  virtual void revoke(const std::string& id, std::string reason, ControlDone done) = 0;
  // Polls an active connection as soon as its driver's limits allow.
  virtual void poll_now(const std::string& id, ControlDone done) = 0;
  // Records the minted token ids (0 leaves one unchanged).
  virtual void set_tokens(const std::string& id, uint64_t vehicle_token_id,
                          uint64_t synthetic_token_id, ControlDone done) = 0;
  // Stores the connection's mint request once; a second call leaves the first in place and
  // answers it (in connections[0].mint_json), so minting is idempotent.
  virtual void set_mint(const std::string& id, std::string mint_json, ControlDone done) = 0;

  virtual std::optional<ConnectionView> find(std::string_view id) const = 0;
  // The live (not revoked) connection of a car of driver instance `driver`, by the maker's
  // vehicle id or, when that is empty or unknown, by VIN.
  virtual std::optional<ConnectionView> find_vehicle(std::string_view driver,
                                                     std::string_view vehicle_id,
                                                     std::string_view vin) const = 0;
  // Ordered by id; `after` is exclusive; at most `limit` items.
  virtual ConnectionPage list(std::string_view after, size_t limit,
                              std::optional<ConnectionState> state) const = 0;
  virtual std::map<ConnectionState, size_t> counts() const = 0;
};

}  // namespace oemlink::host
