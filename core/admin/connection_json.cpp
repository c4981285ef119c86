#include "core/admin/connection_json.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace oemlink::admin {
namespace {

// A stored JSON text as a value; the text itself (a string) if it does not parse, so nothing the
// store holds is hidden from the operator.
boost::json::value stored_json(const std::string& text) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(text, ec);
  if (ec) return boost::json::string(text);
  return v;
}

constexpr host::ConnectionState kStates[] = {
    host::ConnectionState::linking, host::ConnectionState::active, host::ConnectionState::paused,
    host::ConnectionState::needs_reauth, host::ConnectionState::revoked};

}  // namespace

boost::json::object view_json(const host::ConnectionView& v, bool with_mint) {
  boost::json::object o;
  o["id"] = v.id;
  o["driver"] = v.driver;
  o["vehicle_id"] = v.vehicle_id;
  o["vin"] = v.vin;
  o["display_name"] = v.display_name;
  o["identifiers"] = stored_json(v.identifiers_json.empty() ? "{}" : v.identifiers_json);
  o["key_child"] = v.key_child;
  o["device_address"] = v.device_address;
  o["vehicle_token_id"] = v.vehicle_token_id;
  o["synthetic_token_id"] = v.synthetic_token_id;
  o["state"] = host::state_name(v.state);
  o["reason"] = v.reason;
  o["changed_ms"] = v.changed_ms;
  o["created_ms"] = v.created_ms;
  o["source"] = host::source_name(v.source);
  o["phase"] = v.phase;
  if (with_mint)
    o["mint"] = v.mint_json.empty() ? boost::json::value(nullptr) : stored_json(v.mint_json);
  return o;
}

boost::json::object counts_json(const std::map<host::ConnectionState, size_t>& counts) {
  boost::json::object o;
  for (host::ConnectionState s : kStates) {
    auto it = counts.find(s);
    o[host::state_name(s)] = it == counts.end() ? 0 : it->second;
  }
  return o;
}

std::string error_body(std::string_view message) {
  boost::json::object o;
  o["error"] = message;
  return boost::json::serialize(o);
}

}  // namespace oemlink::admin
