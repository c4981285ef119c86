// Checks one driver reading against DIMO's catalogue and the ingest node's rules before it can
// become part of an event. A bad reading is rejected with a reason; it never reaches a sink.
#pragma once

#include <oemlink/driver.h>

#include <cstdint>
#include <string>

namespace oemlink::pipeline {

// DIS prunes events more than five minutes in the future; we refuse them up front.
inline constexpr int64_t kMaxFutureSkewMs = 5 * 60 * 1000;
// Anything before 2000-01-01 is a driver bug (seconds passed as ms, zero timestamps).
inline constexpr int64_t kMinTimestampMs = 946'684'800'000;

// Empty when valid, else why not (names the signal and the offending value).
std::string validate_reading(const oemlink_reading& r, int64_t now_ms);

}  // namespace oemlink::pipeline
