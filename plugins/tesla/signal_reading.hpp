// A reading the driver owns until it is emitted: the ABI's oemlink_reading only borrows its
// strings, and batches outlive the messages they came from.
#ifndef OEMLINK_TESLA_SIGNAL_READING_HPP
#define OEMLINK_TESLA_SIGNAL_READING_HPP

#include <oemlink/driver.hpp>
#include <oemlink/signals.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace oemlink::tesla {

struct SignalReading {
  std::string_view name;  // a signals:: constant's name: static storage
  int64_t timestamp_ms = 0;
  oemlink_value_kind kind = OEMLINK_VALUE_NUMBER;
  double number = 0;
  std::string text;
  double latitude = 0;
  double longitude = 0;

  // -0 becomes 0: "-0" is not a value DIMO should ever see (0 kW times -1000).
  static SignalReading number_of(const signals::Signal& s, int64_t ts, double v) {
    SignalReading r;
    r.name = s.name;
    r.timestamp_ms = ts;
    r.number = v == 0 ? 0.0 : v;
    return r;
  }
  static SignalReading location_of(const signals::Signal& s, int64_t ts, double lat, double lon) {
    SignalReading r;
    r.name = s.name;
    r.timestamp_ms = ts;
    r.kind = OEMLINK_VALUE_LOCATION;
    r.latitude = lat;
    r.longitude = lon;
    return r;
  }
};

// Views for Host::emit; valid while `readings` is.
inline std::vector<oemlink_reading> to_abi(const std::vector<SignalReading>& readings) {
  std::vector<oemlink_reading> out;
  out.reserve(readings.size());
  for (const SignalReading& r : readings) {
    switch (r.kind) {
      case OEMLINK_VALUE_LOCATION:
        out.push_back(Reading::location(r.name, r.timestamp_ms, r.latitude, r.longitude));
        break;
      case OEMLINK_VALUE_STRING:
        out.push_back(Reading::text(r.name, r.timestamp_ms, r.text));
        break;
      default:
        out.push_back(Reading::number(r.name, r.timestamp_ms, r.number));
    }
  }
  return out;
}

inline constexpr double kKmPerMile = 1.609344;  // exact, by definition
inline constexpr double kKpaPerBar = 100.0;
inline constexpr double kKpaPerAtm = 101.325;

}  // namespace oemlink::tesla

#endif
