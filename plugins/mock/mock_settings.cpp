#include "mock_settings.hpp"

#include "car_sim.hpp"

#include <boost/json.hpp>

#include <limits>
#include <stdexcept>
#include <string>

namespace oemlink::mock {
namespace {

namespace json = boost::json;

[[noreturn]] void fail(std::string_view key, std::string_view what) {
  throw std::invalid_argument("mock: setting '" + std::string(key) + "' " + std::string(what));
}

int64_t as_integer(std::string_view key, const json::value& v, int64_t lo, int64_t hi) {
  int64_t n = 0;
  if (v.is_int64()) {
    n = v.get_int64();
  } else if (v.is_uint64() && v.get_uint64() <= static_cast<uint64_t>(hi)) {
    n = static_cast<int64_t>(v.get_uint64());
  } else if (v.is_double() &&
             v.get_double() == static_cast<double>(static_cast<int64_t>(v.get_double()))) {
    n = static_cast<int64_t>(v.get_double());
  } else {
    fail(key, "must be an integer");
  }
  if (n < lo || n > hi) {
    fail(key, "must be between " + std::to_string(lo) + " and " + std::to_string(hi));
  }
  return n;
}

double as_probability(std::string_view key, const json::value& v) {
  if (!v.is_number()) fail(key, "must be a number");
  double p = v.to_number<double>();
  if (!(p >= 0 && p <= 1)) fail(key, "must be a probability between 0 and 1");
  return p;
}

uint32_t as_duration_ms(std::string_view key, const json::value& v) {
  return static_cast<uint32_t>(as_integer(key, v, 0, std::numeric_limits<uint32_t>::max()));
}

uint32_t as_signal_mask(const json::value& v) {
  if (v.is_null()) return ~0u;
  if (!v.is_array()) fail("signals", "must be a list of DIMO signal names");
  uint32_t mask = 0;
  for (const json::value& item : v.get_array()) {
    if (!item.is_string()) fail("signals", "must be a list of DIMO signal names");
    std::string_view name = item.get_string();
    auto id = signal_by_name(name);
    if (!id) fail("signals", "names '" + std::string(name) + "', which the mock does not emit");
    mask |= 1u << *id;
  }
  if (mask == 0) fail("signals", "must name at least one signal");
  return mask;
}

}  // namespace

MockSettings parse_settings(std::string_view text) {
  MockSettings s;
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) return s;
  json::value doc;
  try {
    doc = json::parse(text);
  } catch (const std::exception& e) {
    throw std::invalid_argument(std::string("mock: settings are not valid JSON: ") + e.what());
  }
  if (!doc.is_object()) throw std::invalid_argument("mock: settings must be a JSON object");
  for (const auto& [key_view, v] : doc.get_object()) {
    std::string_view key = key_view;
    if (key == "seed") {
      if (v.is_uint64()) {
        s.seed = v.get_uint64();
      } else {
        s.seed = static_cast<uint64_t>(as_integer(key, v, std::numeric_limits<int64_t>::min(),
                                                  std::numeric_limits<int64_t>::max()));
      }
    } else if (key == "asleep_rate") {
      s.asleep_rate = as_probability(key, v);
    } else if (key == "rate_limited_rate") {
      s.rate_limited_rate = as_probability(key, v);
    } else if (key == "error_rate") {
      s.error_rate = as_probability(key, v);
    } else if (key == "retry_rate") {
      s.retry_rate = as_probability(key, v);
    } else if (key == "rate_limit_retry_after") {
      s.rate_limit_retry_after_ms = as_integer(key, v, 0, std::numeric_limits<int64_t>::max() / 4);
    } else if (key == "reauth_after_polls") {
      s.reauth_after_polls =
          static_cast<uint32_t>(as_integer(key, v, 0, std::numeric_limits<uint32_t>::max()));
    } else if (key == "latency") {
      s.latency_ms = as_duration_ms(key, v);
    } else if (key == "stream_interval") {
      s.stream_interval_ms = as_duration_ms(key, v);
      if (s.stream_interval_ms == 0) fail(key, "must be at least 1ms");
    } else if (key == "fail_create") {
      if (!v.is_bool()) fail(key, "must be true or false");
      s.fail_create = v.get_bool();
    } else if (key == "signals") {
      s.signal_mask = as_signal_mask(v);
    } else {
      throw std::invalid_argument("mock: unknown setting '" + std::string(key) + "'");
    }
  }
  return s;
}

}  // namespace oemlink::mock
