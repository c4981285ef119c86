// Token bucket for a driver's request rate limit. Time is passed in, never read, so tests and
// the scheduler share one clock.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>

namespace oemlink::schedule {

class TokenBucket {
 public:
  // rate_per_s <= 0 disables the limit.
  TokenBucket(double rate_per_s = 0, uint32_t burst = 1)
      : rate_per_ms_(rate_per_s / 1000.0),
        burst_(std::max<uint32_t>(burst, 1)),
        tokens_(static_cast<double>(burst_)) {}

  bool unlimited() const { return rate_per_ms_ <= 0; }

  // Takes one token if available at `now_ms`.
  bool try_take(int64_t now_ms) {
    if (unlimited()) return true;
    refill(now_ms);
    if (tokens_ >= 1.0) {
      tokens_ -= 1.0;
      return true;
    }
    return false;
  }

  // Earliest time at which a token will be available (now_ms if one is).
  int64_t next_token_at(int64_t now_ms) {
    if (unlimited()) return now_ms;
    refill(now_ms);
    if (tokens_ >= 1.0) return now_ms;
    // Capped at an hour: a tiny configured rate must not overflow the conversion.
    double wait = std::min((1.0 - tokens_) / rate_per_ms_, 3'600'000.0);
    return now_ms + static_cast<int64_t>(wait) + 1;
  }

 private:
  void refill(int64_t now_ms) {
    if (now_ms > last_ms_) {
      if (last_ms_ == std::numeric_limits<int64_t>::min()) {
        last_ms_ = now_ms;
        return;
      }
      tokens_ = std::min<double>(burst_, tokens_ + (now_ms - last_ms_) * rate_per_ms_);
      last_ms_ = now_ms;
    }
  }

  double rate_per_ms_;
  uint32_t burst_;
  double tokens_;
  int64_t last_ms_ = std::numeric_limits<int64_t>::min();
};

}  // namespace oemlink::schedule
