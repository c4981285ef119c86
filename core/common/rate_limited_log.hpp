// The one gate for log lines that bad input or a failing peer can trigger in bulk (rejected
// readings and requests, failing polls and deliveries, a driver's own lines): the first few per
// second get through, the rest are counted (`oemlink_log_lines_suppressed_total`, when the owner
// passes that counter) and the next line that gets through says how many were dropped before it:
// "(N similar messages suppressed)" in text, `"suppressed":N` in JSON (log_line_format.hpp).
#pragma once

#include "core/common/log_fields.hpp"
#include "core/common/metrics.hpp"

#include <spdlog/spdlog.h>

#include <atomic>
#include <cstdint>
#include <utility>

namespace oemlink {

// The counter every gate counts its dropped lines in.
inline constexpr const char* kLogLinesSuppressed = "oemlink_log_lines_suppressed_total";
inline constexpr const char* kLogLinesSuppressedHelp =
    "Log lines dropped by a rate gate (bad input or a failing peer repeating itself)";

class LogGate {
 public:
  // `suppressed_lines`: where dropped lines are counted (null: not counted; tests).
  explicit LogGate(uint32_t per_second = 10, Counter* suppressed_lines = nullptr)
      : per_second_(per_second), suppressed_lines_(suppressed_lines) {}
  LogGate(uint32_t per_second, MetricsRegistry& metrics)
      : LogGate(per_second, &metrics.counter(kLogLinesSuppressed, kLogLinesSuppressedHelp)) {}

  // [any-thread] True when this line may be logged. `suppressed` receives how many were dropped
  // since the last allowed line, so the line can say so.
  bool allow(int64_t now_ms, uint64_t& suppressed) {
    int64_t sec = now_ms / 1000;
    int64_t cur = second_.load(std::memory_order_relaxed);
    if (sec != cur && second_.compare_exchange_strong(cur, sec)) used_.store(0);
    if (used_.fetch_add(1) < per_second_) {
      suppressed = dropped_.exchange(0);
      return true;
    }
    dropped_.fetch_add(1);
    if (suppressed_lines_) suppressed_lines_->add();
    return false;
  }

  // [any-thread] Logs one line through the gate, with `fields` and the count of lines dropped
  // before it. A line below the logger's level is neither logged nor counted. True when logged.
  template <class... Args>
  bool log(int64_t now_ms, spdlog::level::level_enum level, const LogFields& fields,
           fmt::format_string<Args...> format, Args&&... args) {
    if (!spdlog::should_log(level)) return false;
    uint64_t suppressed = 0;
    if (!allow(now_ms, suppressed)) return false;
    LogScope scope(fields, suppressed);
    spdlog::log(level, format, std::forward<Args>(args)...);
    return true;
  }

 private:
  uint32_t per_second_;
  Counter* suppressed_lines_;
  std::atomic<int64_t> second_{0};
  std::atomic<uint32_t> used_{0};
  std::atomic<uint64_t> dropped_{0};
};

}  // namespace oemlink
