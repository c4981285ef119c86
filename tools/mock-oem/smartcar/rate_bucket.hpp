// Smartcar's app-wide request bucket (oem-apis.md, "Limits"): 120 requests, refilling
// continuously at 2 per minute. Not thread-safe: the service serialises calls.
#pragma once

#include <chrono>
#include <cstdint>

namespace oemlink::mock_oem::smartcar {

class RateBucket {
 public:
  using Clock = std::chrono::steady_clock;
  // capacity 0 disables the bucket (every request passes).
  RateBucket(double capacity, double refill_per_minute, Clock::time_point now);

  // Takes one request; false when empty, with the whole seconds until one is back.
  bool take(Clock::time_point now, int& retry_after_s);

  bool enabled() const { return capacity_ > 0; }
  double capacity() const { return capacity_; }
  double refill_per_minute() const { return refill_per_minute_; }
  double available(Clock::time_point now);
  // The control API's way to drain (or refill) the bucket in tests.
  void set_available(double tokens, Clock::time_point now);
  uint64_t refused() const { return refused_; }

 private:
  void refill(Clock::time_point now);
  double capacity_, refill_per_minute_, tokens_;
  Clock::time_point last_;
  uint64_t refused_ = 0;
};

}  // namespace oemlink::mock_oem::smartcar
