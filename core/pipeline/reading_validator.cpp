#include "core/pipeline/reading_validator.hpp"

#include "core/common/abi_text.hpp"
#include "core/pipeline/signal_catalogue.hpp"

#include <cmath>
#include <string_view>

namespace oemlink::pipeline {
namespace {

// DIMO's payload is JSON, which must be UTF-8: a driver passing Latin-1 or binary would make
// the whole event unparseable downstream.
bool valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint32_t cp;
    if ((c >> 5) == 0x6) {
      len = 2, cp = c & 0x1f;
    } else if ((c >> 4) == 0xe) {
      len = 3, cp = c & 0x0f;
    } else if ((c >> 3) == 0x1e) {
      len = 4, cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > s.size()) return false;
    for (size_t k = 1; k < len; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc >> 6) != 0x2) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    // Overlong forms, surrogates and values past U+10FFFF are invalid too.
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
      return false;
    i += len;
  }
  return true;
}

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

}  // namespace

std::string validate_reading(const oemlink_reading& r, int64_t now_ms) {
  std::string_view name = abi_view(r.name);
  if (r.struct_size < offsetof(oemlink_reading, hdop) + sizeof(double))
    return "reading struct_size " + std::to_string(r.struct_size) + " is too small";
  const SignalSpec* spec = find_signal(name);
  if (!spec) return "unknown signal \"" + std::string(name.substr(0, 80)) + "\"";
  std::string who = "signal " + std::string(name) + ": ";
  if (r.timestamp_ms < kMinTimestampMs)
    return who + "timestamp " + std::to_string(r.timestamp_ms) + " ms is before 2000 (seconds?)";
  if (r.timestamp_ms > now_ms + kMaxFutureSkewMs)
    return who + "timestamp is " + std::to_string((r.timestamp_ms - now_ms) / 1000) +
           " s in the future";
  switch (spec->kind) {
    case SignalKind::location:
      if (r.kind != OEMLINK_VALUE_LOCATION) return who + "expects a location value";
      if (!(r.latitude >= -90 && r.latitude <= 90))
        return who + "latitude " + num(r.latitude) + " outside [-90, 90]";
      if (!(r.longitude >= -180 && r.longitude <= 180))
        return who + "longitude " + num(r.longitude) + " outside [-180, 180]";
      if (!std::isnan(r.hdop) && !(r.hdop >= 0 && std::isfinite(r.hdop)))
        return who + "hdop " + num(r.hdop) + " must be >= 0";
      return {};
    case SignalKind::string:
      if (r.kind != OEMLINK_VALUE_STRING) return who + "expects a string value";
      if (r.text.size > 1024) return who + "string longer than 1024 bytes";
      if (!valid_utf8(abi_view(r.text))) return who + "string is not valid UTF-8";
      return {};
    case SignalKind::boolean:
      if (r.kind != OEMLINK_VALUE_NUMBER || (r.number != 0 && r.number != 1))
        return who + "expects a boolean as 0 or 1";
      return {};
    case SignalKind::number:
      if (r.kind != OEMLINK_VALUE_NUMBER) return who + "expects a number";
      if (!std::isfinite(r.number)) return who + "value is not a finite number";
      if (!std::isnan(spec->min) && r.number < spec->min)
        return who + "value " + num(r.number) + " below the minimum " + num(spec->min) + " " +
               spec->unit;
      if (!std::isnan(spec->max) && r.number > spec->max)
        return who + "value " + num(r.number) + " above the maximum " + num(spec->max) + " " +
               spec->unit;
      return {};
  }
  return who + "unsupported kind";
}

}  // namespace oemlink::pipeline
