#include "core/host/connection_table.hpp"

#include "core/host/driver_set.hpp"
#include "core/pipeline/json_writer.hpp"

namespace oemlink::host {
namespace {

std::string json_object(const std::map<std::string, std::string>& m) {
  std::string out = "{";
  for (auto& [k, v] : m) {
    if (out.size() > 1) out += ",";
    pipeline::append_json_string(out, k);
    out += ":";
    pipeline::append_json_string(out, v);
  }
  return out + "}";
}

// Contexts of connections a busy driver was never asked to close: kept reachable, since that
// driver (see DriverSet) may still use them.
std::vector<void*>& unclosed_contexts() {
  static auto* v = new std::vector<void*>();
  return *v;
}

}  // namespace

ConnectionTable::~ConnectionTable() {
  for (auto& r : records_)
    if (r.open) unclosed_contexts().push_back(r.driver_ctx);
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
  ConnectionRecord r;
  r.id = cc.id;
  r.vin = cc.vin;
  r.identifiers_json = json_object(cc.identifiers);
  r.vehicle_token_id = cc.vehicle_token_id;
  r.synthetic_token_id = cc.synthetic_token_id;
  r.key_child = cc.key_child;
  r.instance = instance;
  records_.push_back(std::move(r));
  return static_cast<uint32_t>(records_.size() - 1);
}

bool ConnectionTable::open(uint32_t c, DriverInstance& d, std::string& error) {
  ConnectionRecord& r = records_[c];
  oemlink_conn_info info{};
  info.struct_size = sizeof info;
  info.id = {r.id.data(), r.id.size()};
  info.vin = {r.vin.data(), r.vin.size()};
  info.identifiers_json = {r.identifiers_json.data(), r.identifiers_json.size()};
  info.vehicle_token_id = r.vehicle_token_id;
  info.synthetic_token_id = r.synthetic_token_id;
  char err[1024] = {};
  // Open before the call: driver.h tells drivers to read their secrets when a connection opens,
  // and the host serves a connection's services only to an open handle.
  r.open = true;
  oemlink_status st = d.d->open(d.inst, handle_of(c), &info, &r.driver_ctx, err, sizeof err - 1);
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
  d.d->close(d.inst, handle_of(c), r.driver_ctx);
}

}  // namespace oemlink::host
