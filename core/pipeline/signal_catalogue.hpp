// DIMO's signal catalogue (VSS 4.2 + DIMO) as a lookup table, generated from DIMO's CSV by
// tools/gen-signal-catalogue.py. The pipeline rejects readings whose name is not here.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>

namespace oemlink::pipeline {

enum class SignalKind : unsigned char { number, boolean, string, location };

struct SignalSpec {
  const char* name;  // DIMO name: VSS path without "Vehicle.", camelCased
  SignalKind kind;
  const char* unit;  // VSS unit ("km/h", "percent", "kPa", ...); "" when none
  double min;        // NaN when unbounded
  double max;
};

// nullptr when `name` is not a DIMO signal. Thread-safe (immutable after first use).
const SignalSpec* find_signal(std::string_view name);

std::span<const SignalSpec> all_signals();

}  // namespace oemlink::pipeline
