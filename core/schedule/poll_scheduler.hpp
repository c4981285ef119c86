// PollScheduler decides when each connection polls. It is pure bookkeeping: callers pass the
// current time in and get back which connections to start, so the policy is tested with a
// controlled clock and driven in production by one Asio timer (see ScheduleLoop).
//
// Sized for a million connections in one process: a connection's state is one 32-byte slot in
// a SegmentedVector (connections added while running never copy the others), and pending wake-ups
// live in a single binary heap of 16-byte entries, not one timer object per connection. Entries are
// invalidated lazily: a heap entry counts only while it matches its slot's `due` and the slot is
// waiting.
//
// Not thread-safe: owned by the host loop thread.
#pragma once

#include "core/common/segmented_vector.hpp"
#include "core/common/splitmix64.hpp"
#include "core/schedule/token_bucket.hpp"

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

namespace oemlink::schedule {

using ConnIndex = uint32_t;
inline constexpr int64_t kNever = INT64_MAX;

// What the driver told us about a connection during (or outside) a poll.
enum class ReportedState : uint8_t { ok, asleep, rate_limited, needs_reauth, failed };

enum class Outcome : uint8_t { ok, retry, error };

// How a connection gets its data: polled; its own stream, (re)started by the scheduler; or
// passive, fed by a driver-wide stream or webhooks, so never scheduled at all.
enum class ConnMode : uint8_t { poll, stream, passive };

enum class Phase : uint8_t {
  waiting,    // in the heap until `due`
  queued,     // due, waiting for its driver's concurrency or rate-limit budget
  in_flight,  // a poll (or stream start) is running
  streaming,  // a stream is up; nothing scheduled until it ends
  stopped     // needs re-auth or failed permanently: nothing until resumed
};

struct SchedulePolicy {
  double jitter = 0.1;                     // each interval is scaled by U(1-j, 1+j)
  int64_t max_backoff_ms = 3'600'000;      // cap for failure back-off
  int64_t default_rate_limit_ms = 60'000;  // RATE_LIMITED without a time: wait at least this
  uint64_t seed = 0x6f656d6c696e6bULL;     // jitter PRNG seed; fixed for reproducible tests
};

struct DriverLimits {
  uint32_t max_concurrent = 64;
  double rate_per_s = 0;  // 0: unlimited
  uint32_t burst = 1;
  int64_t poll_interval_ms = 300'000;
  int64_t asleep_interval_ms = 900'000;
};

// Counters for operators and benchmarks.
struct ScheduleStats {
  uint64_t started = 0;
  uint64_t completed_ok = 0;
  uint64_t completed_retry = 0;
  uint64_t completed_error = 0;
  uint64_t rate_limited = 0;
  uint64_t asleep = 0;
  uint64_t stopped = 0;
};

class PollScheduler {
 public:
  explicit PollScheduler(SchedulePolicy policy = {});

  // Registers a driver lane; returns its index.
  uint16_t add_driver(const DriverLimits& limits);

  // Registers a connection. Its first poll is spread uniformly over [now, now + interval) so a
  // start or restart is no thundering herd. `interval_ms` 0 uses the driver's interval.
  // Stream connections are started once and restarted after their stream ends.
  ConnIndex add_connection(uint16_t driver, int64_t now_ms, int64_t interval_ms = 0,
                           ConnMode mode = ConnMode::poll);

  // Connections to start now, in due order, within each driver's concurrency and rate budget.
  // Each returned connection is in_flight until complete() (or stream_up()) is called for it.
  void take_due(int64_t now_ms, std::vector<ConnIndex>& out);

  // When take_due() next has something to return, assuming no completions: kNever if nothing.
  int64_t next_wakeup(int64_t now_ms);

  // A poll finished. Applies what was reported during it, then schedules the next one.
  void complete(ConnIndex c, Outcome outcome, int64_t now_ms);

  // A stream start succeeded: the connection stays up without polling.
  void stream_up(ConnIndex c);
  // A running stream ended: restart it after back-off (failures grow it; success resets).
  void stream_ended(ConnIndex c, bool after_long_run, int64_t now_ms);

  // The driver reported a state. While a poll is in flight it is applied at complete();
  // otherwise at once (e.g. a stream learned the token died).
  void report(ConnIndex c, ReportedState state, int64_t until_ms, int64_t now_ms);

  // Takes a stopped connection back into the schedule (e.g. after re-authentication). A paused
  // one is resumed only by restart.
  void resume(ConnIndex c, int64_t now_ms);

  // An operator's pause: no new polls or stream starts. A poll in flight completes normally and
  // the connection stops then. Returns true when a poll (or stream start) is in flight.
  bool pause(ConnIndex c);
  bool paused(ConnIndex c) const { return slots_[c].paused != 0; }
  // Takes a stopped connection (paused, or stopped by its driver's report) back into the
  // schedule at once, ending any pause. Its lane, interval and mode may change (a connection
  // loaded paused had no lane). Returns false when it was not stopped.
  bool restart(ConnIndex c, uint16_t driver, int64_t interval_ms, ConnMode mode, int64_t now_ms);
  // A waiting connection becomes due now (still within its lane's concurrency and rate budget).
  // Returns false when it is not waiting (queued or in flight already: it polls soon anyway;
  // streaming, stopped or paused: it does not poll).
  bool poll_now(ConnIndex c, int64_t now_ms);

  Phase phase(ConnIndex c) const { return static_cast<Phase>(slots_[c].phase); }
  int64_t due(ConnIndex c) const { return slots_[c].due; }
  uint8_t failures(ConnIndex c) const { return slots_[c].failures; }
  uint16_t poll_seq(ConnIndex c) const { return slots_[c].poll_seq; }
  bool is_stream(ConnIndex c) const { return slots_[c].stream != 0; }
  uint16_t driver_of(ConnIndex c) const { return slots_[c].driver; }
  ReportedState last_reported(ConnIndex c) const {
    return static_cast<ReportedState>(slots_[c].reported);
  }
  size_t size() const { return slots_.size(); }
  uint32_t in_flight(uint16_t driver) const { return lanes_[driver].in_flight; }
  size_t queued(uint16_t driver) const { return lanes_[driver].ready.size(); }
  const ScheduleStats& stats() const { return stats_; }
  size_t heap_size() const { return heap_.size(); }

  // Bytes of scheduling state per connection (slot + its heap entry), for capacity planning.
  static constexpr size_t kBytesPerConnection = 32 + 16;

 private:
  struct Slot {
    int64_t due = 0;        // waiting: when the next poll is due
    int64_t until = 0;      // reported rate-limit end, applied at completion
    uint32_t interval = 0;  // ms
    uint16_t driver = 0;
    uint16_t poll_seq = 0;  // bumps on every start, so late completions can be detected
    uint8_t phase = 0;
    uint8_t failures = 0;
    uint8_t reported = 0;
    uint8_t stream = 0;
    uint8_t paused = 0;  // an operator's pause: stopped once nothing is in flight
  };
  static_assert(sizeof(Slot) == 32);

  struct HeapEntry {
    int64_t due;
    ConnIndex conn;
  };
  struct Lane {
    DriverLimits limits;
    TokenBucket bucket;
    uint32_t in_flight = 0;
    std::deque<ConnIndex> ready;
  };

  void schedule_at(ConnIndex c, int64_t due);
  int64_t jittered(int64_t ms);
  int64_t backoff(const Slot& s);
  void finish_in_flight(Slot& s);

  void set_lane(Slot& s, uint16_t driver, int64_t interval_ms, ConnMode mode);

  SchedulePolicy policy_;
  SegmentedVector<Slot> slots_;
  std::vector<HeapEntry> heap_;  // min-heap on due
  std::vector<Lane> lanes_;
  ScheduleStats stats_;
  SplitMix64 rng_;  // jitter: reproducible from policy.seed
};

}  // namespace oemlink::schedule
