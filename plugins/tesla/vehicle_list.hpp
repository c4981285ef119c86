// The account's vehicle list (GET /api/1/vehicles, which never wakes a car): who is online,
// asleep or offline. Parsed leniently: entries without an id (energy sites in /products) are
// skipped.
#ifndef OEMLINK_TESLA_VEHICLE_LIST_HPP
#define OEMLINK_TESLA_VEHICLE_LIST_HPP

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace oemlink::tesla {

struct VehicleEntry {
  std::string id;  // numeric id as text (id_s, else id)
  std::string vin;
  std::string state;  // online | asleep | offline | ...
};

// nullopt when the body is not a list envelope.
std::optional<std::vector<VehicleEntry>> parse_vehicle_list(std::string_view body);

// The entry of `tesla_id` (or, when that is empty, `vin`); nullptr when absent.
const VehicleEntry* find_vehicle(const std::vector<VehicleEntry>& list, std::string_view tesla_id,
                                 std::string_view vin);

}  // namespace oemlink::tesla

#endif
