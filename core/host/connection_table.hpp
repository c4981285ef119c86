// ConnectionTable: every connection the host serves, by index. A connection's handle in the
// C ABI is its index + 1 (never NULL), so resolving a handle is a bounds check, and the
// scheduler's slot with the same index holds its timing.
//
// Threading: the host loop thread, except handle/index arithmetic, which is pure.
#pragma once

#include "core/config/config.hpp"
#include "core/vault/key_vault.hpp"

#include <oemlink/driver.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace oemlink::host {

struct DriverInstance;

inline constexpr uint32_t kNoConn = UINT32_MAX;

struct ConnectionRecord {
  std::string id;
  std::string vin;
  std::string identifiers_json;
  uint64_t vehicle_token_id = 0;
  uint64_t synthetic_token_id = 0;
  uint32_t key_child = 0;
  uint32_t instance = 0;  // its driver's index in the DriverSet
  void* driver_ctx = nullptr;
  bool open = false;
};

class ConnectionTable {
 public:
  ConnectionTable() = default;
  ~ConnectionTable();
  ConnectionTable(const ConnectionTable&) = delete;
  ConnectionTable& operator=(const ConnectionTable&) = delete;

  static oemlink_conn* handle_of(uint32_t index) {
    return reinterpret_cast<oemlink_conn*>(static_cast<uintptr_t>(index) + 1);
  }
  // The index a handle names, or kNoConn when it names none.
  uint32_t index_of(const oemlink_conn* handle) const {
    auto v = reinterpret_cast<uintptr_t>(handle);
    return v == 0 || v > records_.size() ? kNoConn : static_cast<uint32_t>(v - 1);
  }
  // The index when `handle` names an open connection of driver `instance`, else kNoConn: a stale
  // or foreign handle (a bug, or a driver probing) must not reach another driver's data.
  uint32_t owned_by(const oemlink_conn* handle, uint32_t instance) const {
    uint32_t c = index_of(handle);
    if (c == kNoConn || records_[c].instance != instance || !records_[c].open) return kNoConn;
    return c;
  }

  // Key child numbers are claimed for good before any connection signs: a number that ever
  // belonged to another connection (even one removed since) must never sign for this one. The
  // vault owns the registry (in process, or in keyd) and signs only for claimed children.
  // One transaction for all; returns, per connection, why its claim was refused (empty: ok).
  // Throws StartupError when the registry cannot be reached.
  static std::vector<std::string> claim_key_children(
      vault::KeyVault& vault, std::span<const config::ConnectionConfig> connections);

  // Adds a connection (not yet open) and returns its index.
  uint32_t add(const config::ConnectionConfig& cc, uint32_t instance);
  void reserve(size_t n) { records_.reserve(n); }

  // Calls the driver's open; on failure returns false with the driver's message in `error`.
  bool open(uint32_t c, DriverInstance& d, std::string& error);
  // Calls the driver's close, if open.
  void close(uint32_t c, DriverInstance& d);

  size_t size() const { return records_.size(); }
  ConnectionRecord& operator[](uint32_t c) { return records_[c]; }
  const ConnectionRecord& operator[](uint32_t c) const { return records_[c]; }

 private:
  std::vector<ConnectionRecord> records_;
};

}  // namespace oemlink::host
