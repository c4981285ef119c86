#include "core/host/connection_table.hpp"

#include "core/host/driver_call_frame.hpp"

#include "core/common/json_string.hpp"
#include "core/common/log_fields.hpp"
#include "core/host/driver_set.hpp"

#include <algorithm>
#include <bit>
#include <functional>

namespace oemlink::host {
namespace {

// Contexts of connections a busy driver was never asked to close: kept reachable, since that
// driver (see DriverSet) may still use them.
std::vector<void*>& unclosed_contexts() {
  static auto* v = new std::vector<void*>();
  return *v;
}

}  // namespace

ConnectionTable::~ConnectionTable() {
  for (size_t c = 0; c < records_.size(); ++c)
    if (records_[c].open) unclosed_contexts().push_back(records_[c].driver_ctx);
}

std::vector<std::string> ConnectionTable::claim_key_children(
    vault::KeyVault& vault, std::span<const config::ConnectionConfig> connections) {
  std::vector<std::string> refused(connections.size());
  std::vector<std::pair<uint32_t, std::string_view>> claims;
  claims.reserve(connections.size());
  for (const auto& cc : connections) claims.emplace_back(cc.key_child, cc.id);
  try {
    for (auto& [i, why] : vault.claim_all(claims)) refused[i] = std::move(why);
  } catch (const std::exception& e) {
    throw StartupError(std::string("key child registry: ") + e.what());
  }
  return refused;
}

uint32_t ConnectionTable::add(const config::ConnectionConfig& cc, uint32_t instance) {
  return add(ConnectionFields{.id = cc.id,
                              .vin = cc.vin,
                              .identifiers_json = json_object_of(cc.identifiers),
                              .vehicle_token_id = cc.vehicle_token_id,
                              .synthetic_token_id = cc.synthetic_token_id,
                              .key_child = cc.key_child,
                              .instance = instance});
}

uint32_t ConnectionTable::add(const ConnectionFields& f) {
  auto c = static_cast<uint32_t>(records_.append([&](ConnectionRecord& r) {
    r.id = f.id;
    r.vin = f.vin;
    r.identifiers_json = f.identifiers_json;
    r.vehicle_token_id.store(f.vehicle_token_id, std::memory_order_relaxed);
    r.synthetic_token_id.store(f.synthetic_token_id, std::memory_order_relaxed);
    r.key_child = f.key_child;
    r.instance = f.instance;
    r.state = f.state;
  }));
  index_insert(c);
  return c;
}

void ConnectionTable::reserve(size_t n) {
  n = std::max(n, records_.size() + 1);
  if (by_id_.size() >= 2 * n) return;
  size_t cap = std::bit_ceil(std::max<size_t>(16, 2 * n));
  std::vector<uint32_t>(cap, kNoConn).swap(by_id_);
  for (uint32_t c = 0; c < records_.size(); ++c) index_insert(c);
}

// Linear probing: an entry holding the same id is replaced (the newest record wins).
void ConnectionTable::index_insert(uint32_t c) {
  if (2 * (records_.size() + 1) > by_id_.size()) {
    reserve(std::max<size_t>(records_.size() + 1, by_id_.size()));  // doubles; re-inserts c too
    return;
  }
  const std::string& id = records_[c].id;
  size_t mask = by_id_.size() - 1;
  for (size_t i = std::hash<std::string_view>{}(id)&mask;; i = (i + 1) & mask) {
    uint32_t& e = by_id_[i];
    if (e == kNoConn || records_[e].id == id) {
      e = c;  // records are inserted in index order, so c is the newest
      return;
    }
  }
}

uint32_t ConnectionTable::find(std::string_view id) const {
  if (by_id_.empty()) return kNoConn;
  size_t mask = by_id_.size() - 1;
  for (size_t i = std::hash<std::string_view>{}(id)&mask;; i = (i + 1) & mask) {
    uint32_t e = by_id_[i];
    if (e == kNoConn) return kNoConn;
    if (records_[e].id == id) return e;
  }
}

bool ConnectionTable::open(uint32_t c, DriverInstance& d, std::string& error) {
  ConnectionRecord& r = records_[c];
  oemlink_conn_info info{};
  info.struct_size = sizeof info;
  info.id = {r.id.data(), r.id.size()};
  info.vin = {r.vin.data(), r.vin.size()};
  info.identifiers_json = {r.identifiers_json.data(), r.identifiers_json.size()};
  info.vehicle_token_id = r.vehicle_token_id.load(std::memory_order_relaxed);
  info.synthetic_token_id = r.synthetic_token_id.load(std::memory_order_relaxed);
  char err[1024] = {};
  // Open before the call: driver.h tells drivers to read their secrets when a connection opens,
  // and the host serves a connection's services only to an open handle.
  r.open = true;
  LogScope in_call(LogFields{.driver = d.name, .connection = r.id});
  oemlink_status st = call_driver(d, "open", r.id, [&] {
    return d.d->open(d.inst, handle_of(c), &info, &r.driver_ctx, err, sizeof err - 1);
  });
  if (st != OEMLINK_OK) {
    r.open = false;
    error = err[0] ? err : "(no message)";
    return false;
  }
  return true;
}

void ConnectionTable::close(uint32_t c, DriverInstance& d) {
  ConnectionRecord& r = records_[c];
  if (!r.open) return;
  r.open = false;
  LogScope in_call(LogFields{.driver = d.name, .connection = r.id});
  call_driver(d, "close", r.id, [&] { d.d->close(d.inst, handle_of(c), r.driver_ctx); });
  if (closed_hook_) closed_hook_(r);
}

}  // namespace oemlink::host
