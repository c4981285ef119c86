// TelemetryFieldMapper: one Fleet Telemetry datum -> DIMO readings, following DIMO's
// telemetry_definitions.yaml (units: mi, mph, kW, kWh, atm for TPMS as DIMO reads it, degrees
// Celsius). Values may arrive typed (numbers, enum names) or untyped (numeric strings,
// FT#192): both are accepted. A field the mapper does not know is counted, not an error.
#ifndef OEMLINK_TESLA_TELEMETRY_FIELD_MAPPER_HPP
#define OEMLINK_TESLA_TELEMETRY_FIELD_MAPPER_HPP

#include "signal_reading.hpp"
#include "telemetry_datum.hpp"

#include <string>
#include <vector>

namespace oemlink::tesla {

struct TelemetryMapResult {
  enum class Outcome { mapped, invalid_value, unknown_field, bad_value };
  Outcome outcome = Outcome::mapped;
  std::string problem;  // for bad_value: what was wrong, naming the field
};

class TelemetryFieldMapper {
 public:
  // Appends the datum's readings to `out`.
  TelemetryMapResult map(const TelemetryDatum& datum, std::vector<SignalReading>& out) const;
  // Whether `field` is one this mapper turns into DIMO signals.
  static bool knows(std::string_view field);
};

}  // namespace oemlink::tesla

#endif
