#include "tools/mock-oem/smartcar/rate_bucket.hpp"

#include <algorithm>
#include <cmath>

namespace oemlink::mock_oem::smartcar {

RateBucket::RateBucket(double capacity, double refill_per_minute, Clock::time_point now)
    : capacity_(capacity), refill_per_minute_(refill_per_minute), tokens_(capacity), last_(now) {}

void RateBucket::refill(Clock::time_point now) {
  if (now <= last_) return;
  const double minutes = std::chrono::duration<double>(now - last_).count() / 60.0;
  tokens_ = std::min(capacity_, tokens_ + minutes * refill_per_minute_);
  last_ = now;
}

double RateBucket::available(Clock::time_point now) {
  refill(now);
  return tokens_;
}

void RateBucket::set_available(double tokens, Clock::time_point now) {
  refill(now);
  tokens_ = std::clamp(tokens, 0.0, capacity_);
}

bool RateBucket::take(Clock::time_point now, int& retry_after_s) {
  if (!enabled()) return true;
  refill(now);
  if (tokens_ >= 1.0) {
    tokens_ -= 1.0;
    return true;
  }
  ++refused_;
  retry_after_s = refill_per_minute_ > 0
                      ? static_cast<int>(std::ceil((1.0 - tokens_) * 60.0 / refill_per_minute_))
                      : 3600;
  retry_after_s = std::max(retry_after_s, 1);
  return false;
}

}  // namespace oemlink::mock_oem::smartcar
