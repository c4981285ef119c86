// One Fleet Telemetry datum, independent of how it travelled: the MQTT dispatcher's
// (topic, JSON) messages become these (mqtt_telemetry_source), and so would the Kafka
// dispatcher's protobuf Payload records (one per Datum, `time` = created_at). The mapping to
// DIMO signals (telemetry_field_mapper) sees only this.
#ifndef OEMLINK_TESLA_TELEMETRY_DATUM_HPP
#define OEMLINK_TESLA_TELEMETRY_DATUM_HPP

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace oemlink::tesla {

struct TelemetryValue {
  enum class Kind { invalid, number, text, boolean, location, flags };
  Kind kind = Kind::invalid;  // invalid: Tesla's `invalid`/null, skipped by the mapper
  double number = 0;
  std::string text;  // strings and enum names ("ShiftStateD", "DetailedChargeStateCharging")
  bool flag = false;
  double latitude = 0;
  double longitude = 0;
  std::vector<std::pair<std::string, bool>> flags;  // Doors {"DriverFront": true, ...}
};

struct TelemetryDatum {
  std::string vin;
  std::string field;  // Tesla's field name ("Soc", "VehicleSpeed", ...)
  TelemetryValue value;
  int64_t time_ms = 0;  // MQTT: receipt time (the dispatcher drops it); Kafka: created_at
};

// A `connectivity` record: the car's WebSocket to the fleet-telemetry server came or went.
struct ConnectivityRecord {
  std::string vin;
  bool connected = false;
  int64_t time_ms = 0;
};

}  // namespace oemlink::tesla

#endif
