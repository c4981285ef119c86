#include "core/schedule/poll_scheduler.hpp"

#include <algorithm>
#include <limits>

namespace oemlink::schedule {
namespace {

bool later(const auto& a, const auto& b) {
  return a.due > b.due;
}

constexpr int64_t kStreamBackoffBaseMs = 1'000;

}  // namespace

PollScheduler::PollScheduler(SchedulePolicy policy) : policy_(policy), rng_(policy.seed) {}

int64_t PollScheduler::jittered(int64_t ms) {
  double factor = 1.0 + policy_.jitter * (2.0 * rng_.next_unit() - 1.0);
  return std::max<int64_t>(1, static_cast<int64_t>(static_cast<double>(ms) * factor));
}

int64_t PollScheduler::backoff(const Slot& s) {
  int shift = std::min<int>(s.failures > 0 ? s.failures - 1 : 0, 30);
  int64_t base = s.stream ? kStreamBackoffBaseMs : static_cast<int64_t>(s.interval);
  int64_t d = base > (policy_.max_backoff_ms >> shift) ? policy_.max_backoff_ms : base << shift;
  d = std::min(d, policy_.max_backoff_ms);
  // "Equal jitter": half fixed, half random, so retries never bunch up yet never come too soon.
  return std::max<int64_t>(1, d / 2 + static_cast<int64_t>(rng_.next_unit() * (d / 2.0)));
}

uint16_t PollScheduler::add_driver(const DriverLimits& limits) {
  Lane lane;
  lane.limits = limits;
  lane.limits.max_concurrent = std::max<uint32_t>(1, limits.max_concurrent);
  lane.bucket = TokenBucket(limits.rate_per_s, limits.burst);
  lanes_.push_back(std::move(lane));
  return static_cast<uint16_t>(lanes_.size() - 1);
}

void PollScheduler::set_lane(Slot& s, uint16_t driver, int64_t interval_ms, ConnMode mode) {
  const Lane& lane = lanes_.at(driver);
  int64_t interval = interval_ms > 0 ? interval_ms : lane.limits.poll_interval_ms;
  interval = std::clamp<int64_t>(interval, 1, std::numeric_limits<uint32_t>::max());
  s.interval = static_cast<uint32_t>(interval);
  s.driver = driver;
  s.stream = mode == ConnMode::stream ? 1 : 0;
}

ConnIndex PollScheduler::add_connection(uint16_t driver, int64_t now_ms, int64_t interval_ms,
                                        ConnMode mode) {
  bool stream = mode == ConnMode::stream;
  auto c = static_cast<ConnIndex>(
      slots_.append([&](Slot& s) { set_lane(s, driver, interval_ms, mode); }));
  int64_t interval = slots_[c].interval;
  if (mode == ConnMode::passive) {
    slots_[c].phase = static_cast<uint8_t>(Phase::streaming);
    return c;
  }
  // Streams come up within a second; polls spread over a whole interval.
  int64_t spread = stream ? std::min<int64_t>(interval, 1'000) : interval;
  schedule_at(c, now_ms + static_cast<int64_t>(rng_.next_unit() * static_cast<double>(spread)));
  return c;
}

void PollScheduler::schedule_at(ConnIndex c, int64_t due) {
  Slot& s = slots_[c];
  s.due = due;
  s.phase = static_cast<uint8_t>(Phase::waiting);
  heap_.push_back({due, c});
  std::push_heap(heap_.begin(), heap_.end(), later<HeapEntry, HeapEntry>);
}

void PollScheduler::take_due(int64_t now_ms, std::vector<ConnIndex>& out) {
  while (!heap_.empty() && heap_.front().due <= now_ms) {
    HeapEntry e = heap_.front();
    std::pop_heap(heap_.begin(), heap_.end(), later<HeapEntry, HeapEntry>);
    heap_.pop_back();
    Slot& s = slots_[e.conn];
    if (s.phase != static_cast<uint8_t>(Phase::waiting) || s.due != e.due) continue;  // stale
    s.phase = static_cast<uint8_t>(Phase::queued);
    if (s.stream) {
      // Stream (re)starts are not polls: they bypass the request budget.
      s.phase = static_cast<uint8_t>(Phase::in_flight);
      s.poll_seq++;
      s.reported = static_cast<uint8_t>(ReportedState::ok);
      out.push_back(e.conn);
      continue;
    }
    lanes_[s.driver].ready.push_back(e.conn);
  }
  for (Lane& lane : lanes_) {
    while (!lane.ready.empty() && lane.in_flight < lane.limits.max_concurrent &&
           lane.bucket.try_take(now_ms)) {
      ConnIndex c = lane.ready.front();
      lane.ready.pop_front();
      Slot& s = slots_[c];
      s.phase = static_cast<uint8_t>(Phase::in_flight);
      s.poll_seq++;
      s.reported = static_cast<uint8_t>(ReportedState::ok);
      s.until = 0;
      lane.in_flight++;
      stats_.started++;
      out.push_back(c);
    }
  }
}

int64_t PollScheduler::next_wakeup(int64_t now_ms) {
  while (!heap_.empty()) {
    const HeapEntry& e = heap_.front();
    const Slot& s = slots_[e.conn];
    if (s.phase == static_cast<uint8_t>(Phase::waiting) && s.due == e.due) break;
    std::pop_heap(heap_.begin(), heap_.end(), later<HeapEntry, HeapEntry>);
    heap_.pop_back();
  }
  int64_t t = heap_.empty() ? kNever : heap_.front().due;
  for (Lane& lane : lanes_) {
    if (!lane.ready.empty() && lane.in_flight < lane.limits.max_concurrent)
      t = std::min(t, lane.bucket.next_token_at(now_ms));
  }
  return t;
}

void PollScheduler::finish_in_flight(Slot& s) {
  if (!s.stream) {
    Lane& lane = lanes_[s.driver];
    if (lane.in_flight > 0) lane.in_flight--;
  }
}

void PollScheduler::complete(ConnIndex c, Outcome outcome, int64_t now_ms) {
  Slot& s = slots_[c];
  if (s.phase != static_cast<uint8_t>(Phase::in_flight)) return;
  finish_in_flight(s);
  if (s.paused) {
    (outcome == Outcome::ok      ? stats_.completed_ok
     : outcome == Outcome::retry ? stats_.completed_retry
                                 : stats_.completed_error)++;
    s.phase = static_cast<uint8_t>(Phase::stopped);
    return;
  }
  const Lane& lane = lanes_[s.driver];
  switch (static_cast<ReportedState>(s.reported)) {
    case ReportedState::needs_reauth:
    case ReportedState::failed:
      s.phase = static_cast<uint8_t>(Phase::stopped);
      stats_.stopped++;
      return;
    case ReportedState::rate_limited: {
      stats_.rate_limited++;
      int64_t until = s.until > now_ms ? s.until : now_ms + policy_.default_rate_limit_ms;
      // Spread the restart a little after T (never before it): a driver-wide limit lifting at
      // one instant must not release every car at once.
      int64_t spread = std::min<int64_t>(static_cast<int64_t>(s.interval * policy_.jitter), 60'000);
      schedule_at(c, until + static_cast<int64_t>(rng_.next_unit() * spread));
      return;
    }
    case ReportedState::asleep:
      stats_.asleep++;
      s.failures = 0;
      schedule_at(c,
                  now_ms + jittered(std::max<int64_t>(lane.limits.asleep_interval_ms, s.interval)));
      return;
    case ReportedState::ok:
      break;
  }
  if (outcome == Outcome::ok) {
    stats_.completed_ok++;
    s.failures = 0;
    // Anchor on the previous due time, not the completion time, so slow polls do not drift the
    // fleet into bunches; when far behind, poll again as soon as the budget allows.
    schedule_at(c, std::max(s.due + jittered(s.interval), now_ms));
    return;
  }
  (outcome == Outcome::retry ? stats_.completed_retry : stats_.completed_error)++;
  if (s.failures < 255) s.failures++;
  schedule_at(c, now_ms + backoff(s));
}

void PollScheduler::stream_up(ConnIndex c) {
  Slot& s = slots_[c];
  if (s.phase != static_cast<uint8_t>(Phase::in_flight)) return;
  s.phase = static_cast<uint8_t>(Phase::streaming);
  stats_.started++;
}

void PollScheduler::stream_ended(ConnIndex c, bool after_long_run, int64_t now_ms) {
  Slot& s = slots_[c];
  if (s.phase != static_cast<uint8_t>(Phase::streaming) &&
      s.phase != static_cast<uint8_t>(Phase::in_flight))
    return;
  if (after_long_run) s.failures = 0;
  if (s.failures < 255) s.failures++;
  auto reported = static_cast<ReportedState>(s.reported);
  if (reported == ReportedState::needs_reauth || reported == ReportedState::failed) {
    s.phase = static_cast<uint8_t>(Phase::stopped);
    stats_.stopped++;
    return;
  }
  int64_t at = now_ms + backoff(s);
  if (reported == ReportedState::rate_limited && s.until > at) at = s.until;
  schedule_at(c, at);
}

void PollScheduler::report(ConnIndex c, ReportedState state, int64_t until_ms, int64_t now_ms) {
  Slot& s = slots_[c];
  s.reported = static_cast<uint8_t>(state);
  if (state == ReportedState::rate_limited) s.until = until_ms;
  auto phase = static_cast<Phase>(s.phase);
  if (phase == Phase::in_flight || phase == Phase::stopped) return;  // applied at completion
  bool stop = state == ReportedState::needs_reauth || state == ReportedState::failed;
  if (phase == Phase::streaming) {
    if (stop) {
      s.phase = static_cast<uint8_t>(Phase::stopped);
      stats_.stopped++;
    }
    return;
  }
  if (!stop && state != ReportedState::rate_limited) return;
  if (phase == Phase::queued) {
    auto& ready = lanes_[s.driver].ready;
    ready.erase(std::find(ready.begin(), ready.end(), c));
  }
  if (stop) {
    s.phase = static_cast<uint8_t>(Phase::stopped);
    stats_.stopped++;
    return;
  }
  stats_.rate_limited++;
  int64_t until = until_ms > now_ms ? until_ms : now_ms + policy_.default_rate_limit_ms;
  schedule_at(c, std::max(until, phase == Phase::waiting ? s.due : until));
}

void PollScheduler::resume(ConnIndex c, int64_t now_ms) {
  Slot& s = slots_[c];
  if (s.phase != static_cast<uint8_t>(Phase::stopped) || s.paused) return;
  s.failures = 0;
  s.reported = static_cast<uint8_t>(ReportedState::ok);
  schedule_at(c, now_ms);
}

bool PollScheduler::pause(ConnIndex c) {
  Slot& s = slots_[c];
  s.paused = 1;
  switch (static_cast<Phase>(s.phase)) {
    case Phase::in_flight:
      return true;  // stopped at complete() (a stream start: at stream_up, by the caller)
    case Phase::queued: {
      auto& ready = lanes_[s.driver].ready;
      ready.erase(std::find(ready.begin(), ready.end(), c));
      break;
    }
    default:
      break;  // a waiting slot's heap entry goes stale by itself
  }
  s.phase = static_cast<uint8_t>(Phase::stopped);
  return false;
}

bool PollScheduler::restart(ConnIndex c, uint16_t driver, int64_t interval_ms, ConnMode mode,
                            int64_t now_ms) {
  Slot& s = slots_[c];
  if (s.phase != static_cast<uint8_t>(Phase::stopped)) return false;
  set_lane(s, driver, interval_ms, mode);
  s.paused = 0;
  s.failures = 0;
  s.until = 0;
  s.reported = static_cast<uint8_t>(ReportedState::ok);
  if (mode == ConnMode::passive) {
    s.phase = static_cast<uint8_t>(Phase::streaming);
    return true;
  }
  schedule_at(c, now_ms);
  return true;
}

bool PollScheduler::poll_now(ConnIndex c, int64_t now_ms) {
  Slot& s = slots_[c];
  if (s.paused || s.phase != static_cast<uint8_t>(Phase::waiting)) return false;
  if (s.due > now_ms) schedule_at(c, now_ms);  // the old heap entry goes stale
  return true;
}

}  // namespace oemlink::schedule
