// Smartcar's per-application request bucket (120 requests, refilling 2 a minute by default),
// shared by every car of a driver instance: a poll takes one token per API request and, when
// the bucket is empty, does not call Smartcar at all but reports RATE_LIMITED until the next
// token is due. A 429 RATE_LIMIT:SMARTCAR_API empties it until its Retry-After.
#ifndef OEMLINK_SMARTCAR_REQUEST_BUDGET_HPP
#define OEMLINK_SMARTCAR_REQUEST_BUDGET_HPP

#include <cstdint>
#include <mutex>

namespace oemlink::smartcar {

class RequestBudget {
 public:
  // Starts full at `now_ms`.
  RequestBudget(double capacity, double refill_per_minute, int64_t now_ms);

  // Takes one token; false (nothing taken) when none is available at `now_ms`.
  bool try_take(int64_t now_ms);
  // When the next token will be available (now_ms when one is available now).
  int64_t next_token_at(int64_t now_ms);
  // Smartcar said the application is rate-limited: no token before `until_ms`.
  void block_until(int64_t until_ms, int64_t now_ms);
  double available(int64_t now_ms);

 private:
  void refill(int64_t now_ms);

  std::mutex mu_;
  double capacity_;
  double per_ms_;
  double tokens_;
  int64_t last_ms_;
  int64_t blocked_until_ms_ = 0;
};

}  // namespace oemlink::smartcar

#endif  // OEMLINK_SMARTCAR_REQUEST_BUDGET_HPP
