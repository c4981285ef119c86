// Driver calls must not block the loop. Each timed call that took longer than
// schedule.slow_call_warning is counted and logged, rate-limited, naming the driver, the call and
// the connection.
#pragma once

#include "core/common/metrics.hpp"
#include "core/common/rate_limited_log.hpp"
#include "core/host/host_clock.hpp"

#include <chrono>
#include <cstdint>
#include <string_view>

namespace oemlink::host {

class SlowCallLog {
 public:
  SlowCallLog(std::chrono::milliseconds threshold, MetricsRegistry& metrics, const HostClock& clock)
      : threshold_ms_(threshold.count()),
        slow_calls_(metrics.counter("oemlink_driver_slow_calls_total",
                                    "Driver calls that blocked the loop past the threshold")),
        clock_(clock),
        gate_(10, metrics) {}

  // `connection` empty for calls that concern no one connection. Every poll passes here, so a
  // call under the threshold costs one comparison and nothing else.
  void note(std::string_view driver, const char* call, std::string_view connection,
            int64_t took_ms) {
    if (took_ms >= threshold_ms_) slow(driver, call, connection, took_ms);
  }

 private:
  void slow(std::string_view driver, const char* call, std::string_view connection,
            int64_t took_ms);

  int64_t threshold_ms_;
  Counter& slow_calls_;
  const HostClock& clock_;
  LogGate gate_;
};

}  // namespace oemlink::host
