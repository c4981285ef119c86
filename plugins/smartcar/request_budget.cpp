#include "request_budget.hpp"

#include <algorithm>
#include <cmath>

namespace oemlink::smartcar {

RequestBudget::RequestBudget(double capacity, double refill_per_minute, int64_t now_ms)
    : capacity_(capacity),
      per_ms_(refill_per_minute / 60000.0),
      tokens_(capacity),
      last_ms_(now_ms) {}

void RequestBudget::refill(int64_t now_ms) {
  if (now_ms > last_ms_) {
    // Tokens do not accrue while Smartcar has the application blocked.
    const int64_t from = std::max(last_ms_, std::min(blocked_until_ms_, now_ms));
    tokens_ = std::min(capacity_, tokens_ + static_cast<double>(now_ms - from) * per_ms_);
    last_ms_ = now_ms;
  }
}

bool RequestBudget::try_take(int64_t now_ms) {
  std::lock_guard lock(mu_);
  refill(now_ms);
  if (now_ms < blocked_until_ms_ || tokens_ < 1.0) return false;
  tokens_ -= 1.0;
  return true;
}

int64_t RequestBudget::next_token_at(int64_t now_ms) {
  std::lock_guard lock(mu_);
  refill(now_ms);
  const int64_t start = std::max(now_ms, blocked_until_ms_);
  const double missing = std::max(0.0, 1.0 - tokens_);
  return start + static_cast<int64_t>(std::ceil(missing / per_ms_));
}

void RequestBudget::block_until(int64_t until_ms, int64_t now_ms) {
  std::lock_guard lock(mu_);
  refill(now_ms);
  tokens_ = 0;
  blocked_until_ms_ = std::max(blocked_until_ms_, until_ms);
}

double RequestBudget::available(int64_t now_ms) {
  std::lock_guard lock(mu_);
  refill(now_ms);
  return now_ms < blocked_until_ms_ ? 0 : tokens_;
}

}  // namespace oemlink::smartcar
