// Quantities with units as operators write them: durations ("250ms", "1.5s", "5m") and byte
// sizes ("256MiB", "10MB", "4096"). Messages follow scalars.hpp: they never quote the text.
#pragma once

#include <cstdint>
#include <string_view>

#include "core/config/config.hpp"
#include "core/config/scalars.hpp"

namespace oemlink::config {

// <number><unit>, unit one of ms, s, m, h, d; the number may have a fraction. A bare number is
// rejected: "30" could mean seconds or milliseconds, and guessing wrong is a silent 1000x.
// Negative durations and fractions of a millisecond are rejected.
Parsed<Duration> parse_duration(std::string_view text);

// <number>[unit], unit one of B, KB, MB, GB, TB (powers of 1000) or KiB, MiB, GiB, TiB (powers
// of 1024); no unit means bytes.
Parsed<uint64_t> parse_size(std::string_view text);

}  // namespace oemlink::config
