#include "daily_budget.hpp"

namespace oemlink::tesla {
namespace {
constexpr int64_t kDayMs = 86'400'000;
}

void DailyBudget::roll(int64_t now_ms) {
  const int64_t day = now_ms / kDayMs;
  if (day != day_) {
    day_ = day;
    used_ = 0;
  }
}

bool DailyBudget::take(int64_t now_ms) {
  std::lock_guard lock(mu_);
  roll(now_ms);
  if (used_ >= per_day_) return false;
  ++used_;
  return true;
}

void DailyBudget::refund(int64_t now_ms) {
  std::lock_guard lock(mu_);
  roll(now_ms);
  if (used_ > 0) --used_;
}

int64_t DailyBudget::used(int64_t now_ms) {
  std::lock_guard lock(mu_);
  roll(now_ms);
  return used_;
}

int64_t DailyBudget::next_utc_midnight_ms(int64_t now_ms) {
  return (now_ms / kDayMs + 1) * kDayMs;
}

}  // namespace oemlink::tesla
