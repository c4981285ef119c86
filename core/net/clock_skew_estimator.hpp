// How far our wall clock is from true time, learnt from the `Date` header of every HTTPS answer
// the host gets (automakers' APIs through the host's HTTP client, the ingest node through the
// dimo_https sink). A wall clock stepped by hand or by a late NTP must neither make the host
// refuse good readings as "in the future" nor make it stamp events the ingest would prune.
//
// Each sample is kept as an offset from the steady clock (true Unix ms minus steady ms), not from
// the wall clock: a wall-clock step does not move the steady clock, so the samples taken before a
// step still say what true time is after it, and the correction is right from the first
// millisecond after the step, without waiting for new answers. The steady clock drifts from true
// time by parts per million only; the window keeps the recent samples.
//
// Robustness: Date has a one-second resolution and answers arrive with network delay, so
//  - a sample is the Date plus half a second (the middle of the second it names);
//  - the estimate is the median of the last kWindow samples: a minority of wrong answers (a stale
//    cached one) cannot move it;
//  - the ingest node's answers are authoritative: while they give an estimate, it is the one
//    used, so one automaker API with a wrong or hostile clock (often the busiest peer, able to
//    fill the window alone) cannot move the host's time away from the clock that prunes events;
//    the other peers' estimate is used only while the ingest gives none;
//  - it holds only when at least kMinAgreeing samples lie within kAgreeMs of that median;
//  - a skew under kIgnoreBelowMs is reported as zero and corrects nothing (jitter, not a fault).
// Until an estimate holds, corrected time is the wall clock (nothing is known to be wrong).
//
// Thread-safe: observe() takes a mutex (once per HTTP answer); the reads are two atomics.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string_view>

namespace oemlink::net {

// /readyz is not ready, and `doctor` warns, beyond this skew: past it an operator must fix NTP.
inline constexpr int64_t kClockSkewNotReadyMs = 60'000;
// DIS prunes events more than five minutes ahead of its clock (dimo-wire.md §1).
inline constexpr int64_t kIngestMaxFutureMs = 5 * 60'000;

class ClockSkewEstimator {
 public:
  static constexpr size_t kWindow = 9;
  static constexpr size_t kMinAgreeing = 3;
  static constexpr int64_t kAgreeMs = 2'000;
  static constexpr int64_t kIgnoreBelowMs = 2'000;

  // [any-thread] One answer's Date value, received at `steady_ms` on our steady clock.
  // Returns false (and learns nothing) when the value is not an IMF-fixdate.
  // `authoritative`: an answer of the ingest node (see above).
  bool observe_date_header(std::string_view value, int64_t steady_ms, bool authoritative = false);
  // [any-thread] The same with the Date already parsed (Unix seconds).
  void observe(int64_t peer_unix_s, int64_t steady_ms, bool authoritative = false);

  // [any-thread] True Unix ms by the estimate, or `wall_ms` while no estimate holds or the skew
  // is under kIgnoreBelowMs.
  int64_t corrected_ms(int64_t wall_ms, int64_t steady_ms) const;
  // [any-thread] Our wall clock minus true time (positive: we are ahead), 0 when under
  // kIgnoreBelowMs; nullopt while no estimate holds.
  std::optional<int64_t> skew_ms(int64_t wall_ms, int64_t steady_ms) const;
  // [any-thread] Samples seen since start.
  uint64_t samples() const { return samples_.load(std::memory_order_relaxed); }

  // The process's steady clock (std::chrono::steady_clock), in ms: what callers pass as
  // `steady_ms`.
  static int64_t steady_now_ms();

 private:
  // One window of true-minus-steady offsets (ms) and the estimate it last gave.
  struct Window {
    std::array<int64_t, kWindow> ring{};
    size_t filled = 0, next = 0;
    bool holds = false;
    int64_t offset_ms = 0;
    void add(int64_t offset);
  };
  std::mutex mu_;
  Window ingest_, others_;
  std::atomic<bool> holds_{false};
  std::atomic<int64_t> offset_ms_{0};  // the estimate in use, valid when holds_
  std::atomic<uint64_t> samples_{0};
};

}  // namespace oemlink::net
