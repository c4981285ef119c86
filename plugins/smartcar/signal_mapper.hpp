// The one mapper from Smartcar data to DIMO readings, used by polling (v3 signals pages, v2
// batch responses) and by webhooks (payload 4.0 signals, legacy 2.0 path responses) alike, so a
// value means the same whichever way it arrived. Conversions go by each value's unit label
// (unit_conversion.hpp); the table of codes is in README.md.
#ifndef OEMLINK_SMARTCAR_SIGNAL_MAPPER_HPP
#define OEMLINK_SMARTCAR_SIGNAL_MAPPER_HPP

#include <oemlink/driver.h>

#include <boost/json/value.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace oemlink::smartcar {

// What happened to the signals of one page or delivery, for counters and one log line.
struct MapStats {
  uint64_t readings = 0;        // readings produced
  uint64_t skipped_status = 0;  // status ERROR / UNAVAILABLE: skipped, not a failure
  uint64_t empty = 0;           // SUCCESS with a null value (e.g. no active charge limit)
  uint64_t unmapped = 0;        // codes or paths with no DIMO signal (VIN, doors, oil life...)
  uint64_t rejected = 0;        // mapped, but the unit or value was unusable
  std::string first_rejection;  // "wheel-tires: 35 labelled 'bar' is neither bar nor kPa"

  void add(const MapStats& o);
};

enum class UnitSystem { metric, imperial };

// One element of a v3 signals page's `data` (attributes + meta) or of a 4.0 webhook's
// `data.signals` (flat). Appends readings named with oemlink::signals constants (static
// storage: the readings stay valid as long as `out`). Timestamps: meta.oemUpdatedAt, else
// meta.retrievedAt, else `now_ms`.
void map_signal(const boost::json::value& item, int64_t now_ms, std::vector<oemlink_reading>& out,
                MapStats& stats);

// One v2 response (a batch sub-response or a legacy 2.0 webhook's data entry): `path` like
// "/battery", `body` its JSON, values in `units` (fractions for percentages), measured at
// `time_ms`.
void map_v2_response(std::string_view path, const boost::json::value* body, UnitSystem units,
                     int64_t time_ms, std::vector<oemlink_reading>& out, MapStats& stats);

}  // namespace oemlink::smartcar

#endif  // OEMLINK_SMARTCAR_SIGNAL_MAPPER_HPP
