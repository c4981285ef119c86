#include "core/net/clock_skew_estimator.hpp"

#include "core/net/http_date.hpp"

#include <algorithm>
#include <cstdlib>

namespace oemlink::net {

bool ClockSkewEstimator::observe_date_header(std::string_view value, int64_t steady_ms,
                                             bool authoritative) {
  auto date = parse_http_date(value);
  if (!date) return false;
  observe(std::chrono::duration_cast<std::chrono::seconds>(date->time_since_epoch()).count(),
          steady_ms, authoritative);
  return true;
}

void ClockSkewEstimator::Window::add(int64_t offset) {
  ring[next] = offset;
  next = (next + 1) % kWindow;
  filled = std::min(filled + 1, kWindow);
  std::array<int64_t, kWindow> sorted = ring;
  auto end = sorted.begin() + static_cast<std::ptrdiff_t>(filled);
  std::sort(sorted.begin(), end);
  const int64_t median = sorted[filled / 2];
  const auto agreeing = std::count_if(
      sorted.begin(), end, [&](int64_t o) { return std::llabs(o - median) <= kAgreeMs; });
  if (static_cast<size_t>(agreeing) < kMinAgreeing) return;  // keep the last estimate that held
  offset_ms = median;
  holds = true;
}

void ClockSkewEstimator::observe(int64_t peer_unix_s, int64_t steady_ms, bool authoritative) {
  // The peer's clock read somewhere inside the second it names: its middle is the best guess.
  const int64_t offset = peer_unix_s * 1000 + 500 - steady_ms;
  std::lock_guard lock(mu_);
  (authoritative ? ingest_ : others_).add(offset);
  samples_.fetch_add(1, std::memory_order_relaxed);
  const Window& use = ingest_.holds ? ingest_ : others_;
  if (!use.holds) return;
  offset_ms_.store(use.offset_ms, std::memory_order_relaxed);
  holds_.store(true, std::memory_order_release);
}

std::optional<int64_t> ClockSkewEstimator::skew_ms(int64_t wall_ms, int64_t steady_ms) const {
  if (!holds_.load(std::memory_order_acquire)) return std::nullopt;
  const int64_t truth = steady_ms + offset_ms_.load(std::memory_order_relaxed);
  const int64_t skew = wall_ms - truth;
  return std::llabs(skew) < kIgnoreBelowMs ? 0 : skew;
}

int64_t ClockSkewEstimator::corrected_ms(int64_t wall_ms, int64_t steady_ms) const {
  return wall_ms - skew_ms(wall_ms, steady_ms).value_or(0);
}

int64_t ClockSkewEstimator::steady_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace oemlink::net
