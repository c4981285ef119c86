#include "vehicle_list.hpp"

#include <boost/json.hpp>

namespace oemlink::tesla {

std::optional<std::vector<VehicleEntry>> parse_vehicle_list(std::string_view body) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(body, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const boost::json::value* resp = v.as_object().if_contains("response");
  if (!resp || !resp->is_array()) return std::nullopt;
  std::vector<VehicleEntry> out;
  for (const auto& item : resp->as_array()) {
    if (!item.is_object()) continue;
    const auto& o = item.as_object();
    VehicleEntry e;
    if (auto* ids = o.if_contains("id_s"); ids && ids->is_string()) {
      e.id = std::string(ids->as_string());
    } else if (auto* id = o.if_contains("id"); id && (id->is_int64() || id->is_uint64())) {
      e.id = id->is_int64() ? std::to_string(id->as_int64()) : std::to_string(id->as_uint64());
    }
    if (auto* vin = o.if_contains("vin"); vin && vin->is_string()) e.vin = vin->as_string();
    if (auto* st = o.if_contains("state"); st && st->is_string()) e.state = st->as_string();
    if (e.id.empty() || e.vin.empty()) continue;  // an energy product, not a car
    out.push_back(std::move(e));
  }
  return out;
}

const VehicleEntry* find_vehicle(const std::vector<VehicleEntry>& list, std::string_view tesla_id,
                                 std::string_view vin) {
  for (const VehicleEntry& e : list) {
    if (!tesla_id.empty() ? e.id == tesla_id : (!vin.empty() && e.vin == vin)) return &e;
  }
  return nullptr;
}

}  // namespace oemlink::tesla
