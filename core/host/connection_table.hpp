// ConnectionTable: every connection the host serves, by index. A connection's handle in the
// C ABI is its index + 1 (never NULL), so resolving a handle is a bounds check, and the
// scheduler's slot with the same index holds its timing.
//
// Connections are added while the daemon runs (ConnectionLifecycle), and drivers resolve handles
// and read records from their own threads meanwhile, so records live in a SegmentedVector: a
// record never moves, and a new one is visible only once complete. An index is never reused: a
// revoked connection keeps its record, closed, and its stale handle is refused.
//
// Threading: add/open/close/find on the host loop thread. index_of, owned_by and the fields
// drivers read (id, vin, identifiers_json, key_child, instance: fixed once added; open and the
// token ids: atomics) on any thread.
#pragma once

#include "core/common/segmented_vector.hpp"
#include "core/config/config.hpp"
#include "core/host/connection_control.hpp"
#include "core/vault/key_vault.hpp"

#include <oemlink/driver.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace oemlink::host {

struct DriverInstance;

inline constexpr uint32_t kNoConn = UINT32_MAX;

// What a new record holds; ConnectionTable::add copies it in.
struct ConnectionFields {
  std::string id;
  std::string vin;
  std::string identifiers_json = "{}";
  uint64_t vehicle_token_id = 0;
  uint64_t synthetic_token_id = 0;
  uint32_t key_child = 0;
  uint32_t instance = 0;
  ConnectionState state = ConnectionState::active;
};

struct ConnectionRecord {
  std::string id;
  std::string vin;
  std::string identifiers_json;
  // Changed on the loop by set_tokens while a driver thread may be emitting: new events carry
  // the new ids.
  std::atomic<uint64_t> vehicle_token_id{0};
  std::atomic<uint64_t> synthetic_token_id{0};
  uint32_t key_child = 0;
  uint32_t instance = 0;  // its driver's index in the DriverSet
  void* driver_ctx = nullptr;
  std::atomic<bool> open{false};
  ConnectionState state = ConnectionState::active;  // [loop] the lifecycle's view
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
    if (c == kNoConn) return kNoConn;
    const ConnectionRecord& r = records_[c];
    if (r.instance != instance || !r.open.load(std::memory_order_acquire)) return kNoConn;
    return c;
  }

  // Key child numbers are claimed for good before any connection signs: a number that ever
  // belonged to another connection (even one removed since) must never sign for this one. The
  // vault owns the registry (in process, or in keyd) and signs only for claimed children.
  // One transaction for all; returns, per connection, why its claim was refused (empty: ok).
  // Throws StartupError when the registry cannot be reached.
  static std::vector<std::string> claim_key_children(
      vault::KeyVault& vault, std::span<const config::ConnectionConfig> connections);

  // Adds a connection (not yet open) and returns its index. [loop]
  uint32_t add(const config::ConnectionConfig& cc, uint32_t instance);
  uint32_t add(const ConnectionFields& f);
  // Sizes the id index for n connections (records themselves need no reserve). [loop]
  void reserve(size_t n);
  // The newest connection with this id, or kNoConn. [loop]
  uint32_t find(std::string_view id) const;

  // Calls the driver's open; on failure returns false with the driver's message in `error`.
  bool open(uint32_t c, DriverInstance& d, std::string& error);
  // Calls the driver's close, if open, then the closed hook.
  void close(uint32_t c, DriverInstance& d);
  // [loop] Called after each close (the runtime lets the pipeline forget the connection's
  // event-time history). Set before any connection opens.
  void set_closed_hook(std::function<void(const ConnectionRecord&)> hook) {
    closed_hook_ = std::move(hook);
  }

  size_t size() const { return records_.size(); }
  ConnectionRecord& operator[](uint32_t c) { return records_[c]; }
  const ConnectionRecord& operator[](uint32_t c) const { return records_[c]; }

  // Bytes per connection of the id index (open addressing, at most half full), for capacity
  // planning.
  static constexpr size_t kIndexBytesPerConnection = 2 * sizeof(uint32_t);

 private:
  void index_insert(uint32_t c);

  SegmentedVector<ConnectionRecord> records_;
  // Open addressing over record indexes (kNoConn: empty), keyed by the record's id; no copy of
  // the id. 8 bytes per connection instead of a node map's ~70.
  std::vector<uint32_t> by_id_;
  std::function<void(const ConnectionRecord&)> closed_hook_;
};

}  // namespace oemlink::host
