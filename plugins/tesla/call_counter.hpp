// Counts Fleet API calls by category the way Tesla bills them: every answer below 500 is billed
// ("billed_<category>"), answers at or above 500 and transport failures are not
// ("unbilled_<category>"). The host prefixes the driver name: tesla_billed_vehicle_data.
#ifndef OEMLINK_TESLA_CALL_COUNTER_HPP
#define OEMLINK_TESLA_CALL_COUNTER_HPP

#include "fleet_api_status.hpp"

#include <oemlink/driver.hpp>

#include <string>
#include <string_view>

namespace oemlink::tesla {

inline void count_call(const Host& host, std::string_view category, const HttpResponse& r) {
  const bool billed = r.status == OEMLINK_OK && r.http_status < 500;
  host.count((billed ? "billed_" : "unbilled_") + std::string(category));
}

}  // namespace oemlink::tesla

#endif
