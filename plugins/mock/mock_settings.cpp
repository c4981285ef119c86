#include "mock_settings.hpp"

#include "car_sim.hpp"

#include <limits>
#include <stdexcept>
#include <string>

namespace oemlink::mock {
namespace {

[[noreturn]] void fail(std::string_view key, std::string_view what) {
  throw std::invalid_argument("mock: setting '" + std::string(key) + "' " + std::string(what));
}

void check_probability(std::string_view key, double p) {
  if (!(p >= 0 && p <= 1)) fail(key, "must be a probability between 0 and 1");
}

uint32_t signal_mask(const std::vector<std::string>& names) {
  uint32_t mask = 0;
  for (const std::string& name : names) {
    auto id = signal_by_name(name);
    if (!id) fail("signals", "names '" + name + "', which the mock does not emit");
    mask |= 1u << *id;
  }
  if (mask == 0) fail("signals", "must name at least one signal");
  return mask;
}

}  // namespace

MockSettings parse_settings(std::string_view json) {
  MockSettings s;
  try {
    s = kSettingsTable.parse(json);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(std::string("mock: ") + e.what());
  }
  check_probability("asleep_rate", s.asleep_rate);
  check_probability("rate_limited_rate", s.rate_limited_rate);
  check_probability("error_rate", s.error_rate);
  check_probability("retry_rate", s.retry_rate);
  // Added to the host's clock: keep the sum far from overflow.
  if (s.rate_limit_retry_after_ms < 0 ||
      s.rate_limit_retry_after_ms > std::numeric_limits<int64_t>::max() / 4) {
    fail("rate_limit_retry_after", "is out of range");
  }
  if (s.stream_interval_ms == 0) fail("stream_interval", "must be at least 1ms");
  if (s.signals) s.signal_mask = signal_mask(*s.signals);
  return s;
}

}  // namespace oemlink::mock
