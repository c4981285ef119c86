#include "vehicle_list.hpp"

#include <boost/json.hpp>

#include <cstdint>

namespace oemlink::tesla {

namespace {

int64_t positive_int(const boost::json::object& o, std::string_view key) {
  const boost::json::value* v = o.if_contains(key);
  if (!v) return 0;
  if (v->is_int64()) return v->as_int64() > 0 ? v->as_int64() : 0;
  if (v->is_uint64()) return v->as_uint64() <= uint64_t(INT64_MAX) ? int64_t(v->as_uint64()) : 0;
  return 0;
}

}  // namespace

std::optional<VehiclePage> parse_vehicle_page(std::string_view body) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(body, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const boost::json::value* resp = v.as_object().if_contains("response");
  if (!resp || !resp->is_array()) return std::nullopt;
  VehiclePage page;
  if (auto* p = v.as_object().if_contains("pagination"); p && p->is_object()) {
    page.next_page = positive_int(p->as_object(), "next");
    page.per_page = positive_int(p->as_object(), "per_page");
  }
  std::vector<VehicleEntry>& out = page.vehicles;
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
    if (auto* name = o.if_contains("display_name"); name && name->is_string())
      e.display_name = name->as_string();
    if (e.id.empty() || e.vin.empty()) continue;  // an energy product, not a car
    out.push_back(std::move(e));
  }
  return page;
}

std::optional<std::vector<VehicleEntry>> parse_vehicle_list(std::string_view body) {
  auto page = parse_vehicle_page(body);
  if (!page) return std::nullopt;
  return std::move(page->vehicles);
}

std::string vehicle_list_path(int64_t page, int64_t per_page) {
  if (page <= 1) return "/api/1/vehicles";
  std::string path = "/api/1/vehicles?page=" + std::to_string(page);
  if (per_page > 0) path += "&per_page=" + std::to_string(per_page);
  return path;
}

const VehicleEntry* find_vehicle(const std::vector<VehicleEntry>& list, std::string_view tesla_id,
                                 std::string_view vin) {
  for (const VehicleEntry& e : list) {
    if (!tesla_id.empty() ? e.id == tesla_id : (!vin.empty() && e.vin == vin)) return &e;
  }
  return nullptr;
}

}  // namespace oemlink::tesla
