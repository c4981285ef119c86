// HungPollBudget: how many polls each driver instance hung (ran past poll_timeout) recently, so
// that one that keeps hanging is let go of (quarantined) instead of tying up connections and
// threads for good. A sliding window per instance, by steady time.
//
// Threading: the host loop thread.
#pragma once

#include <cstdint>
#include <deque>
#include <vector>

namespace oemlink::host {

class HungPollBudget {
 public:
  // `limit` 0: never exceeded.
  HungPollBudget(uint32_t limit, int64_t window_ms) : limit_(limit), window_ms_(window_ms) {}
  void set(uint32_t limit, int64_t window_ms) {
    limit_ = limit;
    window_ms_ = window_ms;
  }

  // One more hung poll of instance `index` at `now_ms`; true once `limit` fall within the window
  // (then the count starts over).
  bool note(uint32_t index, int64_t now_ms) {
    if (limit_ == 0) return false;
    if (index >= hung_.size()) hung_.resize(index + 1);
    std::deque<int64_t>& q = hung_[index];
    q.push_back(now_ms);
    while (!q.empty() && q.front() <= now_ms - window_ms_) q.pop_front();
    if (q.size() < limit_) return false;
    q.clear();
    return true;
  }
  uint32_t limit() const { return limit_; }
  int64_t window_ms() const { return window_ms_; }

 private:
  uint32_t limit_;
  int64_t window_ms_;
  std::vector<std::deque<int64_t>> hung_;
};

}  // namespace oemlink::host
