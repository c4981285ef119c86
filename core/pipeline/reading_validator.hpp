// Checks one driver reading against DIMO's catalogue and the ingest node's rules before it can
// become part of an event. A bad reading is rejected with a reason; it never reaches a sink.
#pragma once

#include <oemlink/driver.h>

#include <algorithm>
#include <cstdint>
#include <string>

namespace oemlink::pipeline {

// DIS prunes events more than five minutes in the future; we refuse them up front.
inline constexpr int64_t kMaxFutureSkewMs = 5 * 60 * 1000;
// Anything before 2000-01-01 is a driver bug (seconds passed as ms, zero timestamps).
inline constexpr int64_t kMinTimestampMs = 946'684'800'000;

// Empty when valid, else why not (names the signal and the offending value). `now_ms` is what
// "in the future" is judged against: future_reference_ms() of the host's clocks.
std::string validate_reading(const oemlink_reading& r, int64_t now_ms);

// The latest of our wall clock, true time (the wall clock corrected by the skew the host learnt
// from HTTPS Date headers) and the latest time the host told a driver (`shown_ms`: the host
// passes it only while it was reached within the last minutes, HostServices::shown_mark_ms). A
// reading is refused as "in the future" only when it is more than kMaxFutureSkewMs ahead of all
// three: with our clock stepped back, true time admits readings stamped by the OEM; with it stepped
// forward, the wall clock admits readings a driver stamped from it, and the time shown admits
// them still after the clock is put right (the dimo_https sink holds those events until the
// ingest would take them). A reading really in the future is ahead of all three and refused.
inline int64_t future_reference_ms(int64_t wall_ms, int64_t true_ms, int64_t shown_ms) {
  return std::max({wall_ms, true_ms, shown_ms});
}

}  // namespace oemlink::pipeline
