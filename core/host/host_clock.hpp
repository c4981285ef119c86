// Time as the host reads it. Scheduling runs on the steady clock, so a wall-clock step (NTP)
// never stalls or floods polling; drivers and events speak Unix wall time. Injected, so the
// dispatcher's timing (watchdog, back-off, rate limits) is tested without sleeping.
#pragma once

#include "core/common/wall_clock.hpp"

#include <chrono>
#include <cstdint>

namespace oemlink::host {

class HostClock {
 public:
  virtual ~HostClock() = default;
  // [any-thread] Milliseconds on a clock that never steps; only differences mean anything.
  virtual int64_t steady_ms() const = 0;
  // [any-thread] Unix milliseconds.
  virtual int64_t wall_ms() const = 0;
};

class SystemClock final : public HostClock {
 public:
  int64_t steady_ms() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
  int64_t wall_ms() const override { return unix_ms(); }
};

// The process-wide real clock.
inline const HostClock& system_clock() {
  static const SystemClock clock;
  return clock;
}

}  // namespace oemlink::host
