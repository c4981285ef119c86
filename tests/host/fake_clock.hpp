// A HostClock that moves only when the test says so.
#pragma once

#include "core/host/host_clock.hpp"

#include <atomic>

namespace oemlink::host::testing {

class FakeClock final : public HostClock {
 public:
  int64_t steady_ms() const override { return steady_.load(); }
  int64_t wall_ms() const override { return wall_.load(); }
  void advance(int64_t ms) {
    steady_ += ms;
    wall_ += ms;
  }
  // An NTP step: wall time jumps, steady time does not.
  void step_wall(int64_t ms) { wall_ += ms; }

 private:
  std::atomic<int64_t> steady_{1'000'000};
  std::atomic<int64_t> wall_{1'767'225'600'000};  // 2026-01-01T00:00:00Z
};

}  // namespace oemlink::host::testing
