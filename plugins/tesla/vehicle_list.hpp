// The account's vehicle list (GET /api/1/vehicles, which never wakes a car): who is online,
// asleep or offline. It is paged (`pagination.next`, null on the last page); each page is one
// billed call. Parsed leniently: entries without an id (energy sites in /products) are skipped.
#ifndef OEMLINK_TESLA_VEHICLE_LIST_HPP
#define OEMLINK_TESLA_VEHICLE_LIST_HPP

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace oemlink::tesla {

struct VehicleEntry {
  std::string id;  // numeric id as text (id_s, else id)
  std::string vin;
  std::string state;         // online | asleep | offline | ...
  std::string display_name;  // the owner's name for the car; may be empty
};

struct VehiclePage {
  std::vector<VehicleEntry> vehicles;
  int64_t next_page = 0;  // 0: this is the last page (no `pagination`, or its `next` is null)
  int64_t per_page = 0;   // the page size the server used (0: not said)
};

// nullopt when the body is not a list envelope.
std::optional<VehiclePage> parse_vehicle_page(std::string_view body);
// The vehicles of one page, ignoring its pagination.
std::optional<std::vector<VehicleEntry>> parse_vehicle_list(std::string_view body);

// "/api/1/vehicles" for the first page (the server's page size), else "?page=N[&per_page=M]".
std::string vehicle_list_path(int64_t page, int64_t per_page);

// The entry of `tesla_id` (or, when that is empty, `vin`); nullptr when absent.
const VehicleEntry* find_vehicle(const std::vector<VehicleEntry>& list, std::string_view tesla_id,
                                 std::string_view vin);

}  // namespace oemlink::tesla

#endif
