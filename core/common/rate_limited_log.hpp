// A gate for log lines that bad input can trigger in bulk (rejected readings, slow calls):
// the first few per second get through, the rest are counted and summarised, so a broken
// driver cannot flood the log or the disk.
#pragma once

#include <atomic>
#include <cstdint>

namespace oemlink {

class LogGate {
 public:
  explicit LogGate(uint32_t per_second = 10) : per_second_(per_second) {}
  // True when this line may be logged. `suppressed` receives how many were dropped since the
  // last allowed line, so the caller can say so.
  bool allow(int64_t now_ms, uint64_t& suppressed) {
    int64_t sec = now_ms / 1000;
    int64_t cur = second_.load(std::memory_order_relaxed);
    if (sec != cur && second_.compare_exchange_strong(cur, sec)) used_.store(0);
    if (used_.fetch_add(1) < per_second_) {
      suppressed = dropped_.exchange(0);
      return true;
    }
    dropped_.fetch_add(1);
    return false;
  }

 private:
  uint32_t per_second_;
  std::atomic<int64_t> second_{0};
  std::atomic<uint32_t> used_{0};
  std::atomic<uint64_t> dropped_{0};
};

}  // namespace oemlink
