// A per-car budget of billed calls per UTC day, so that a bug (or a flapping car) cannot run
// up a bill: when spent, nothing billed for that car until midnight UTC.
#ifndef OEMLINK_TESLA_DAILY_BUDGET_HPP
#define OEMLINK_TESLA_DAILY_BUDGET_HPP

#include <cstdint>
#include <mutex>

namespace oemlink::tesla {

class DailyBudget {
 public:
  explicit DailyBudget(int64_t per_day) : per_day_(per_day) {}
  // True (and one unit taken) when today's budget has room.
  bool take(int64_t now_ms);
  // Gives back a unit taken for a call that was not billed (a 5xx, a transport failure).
  void refund(int64_t now_ms);
  int64_t used(int64_t now_ms);
  int64_t limit() const { return per_day_; }
  static int64_t next_utc_midnight_ms(int64_t now_ms);

 private:
  void roll(int64_t now_ms);
  std::mutex mu_;
  int64_t per_day_;
  int64_t day_ = -1;
  int64_t used_ = 0;
};

}  // namespace oemlink::tesla

#endif
