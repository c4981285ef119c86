// The time an UplinkDispatcher depends on: the wall clock (delivery latency is measured from the
// outbox's append time, which is wall-clock) and one back-off timer per waiting connection.
// Production uses SystemUplinkClock; tests substitute a clock they move by hand, so back-off,
// Retry-After and latency are checked without waiting for them.
#pragma once

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

namespace oemlink::uplink {

class BackoffTimer {
 public:
  virtual ~BackoffTimer() = default;
  // [loop] Runs `fire` on the loop once `delay` has passed, unless cancel() comes first.
  virtual void start(std::chrono::milliseconds delay, std::function<void()> fire) = 0;
  virtual void cancel() = 0;
};

class UplinkClock {
 public:
  virtual ~UplinkClock() = default;
  // [any-thread] Unix milliseconds.
  virtual int64_t unix_ms() const = 0;
  // [any-thread] Milliseconds on a clock that never steps (std::chrono::steady_clock in
  // production, the same clock as host::HostClock::steady_ms): when the sink last delivered,
  // for readiness, must not move with an NTP step.
  virtual int64_t steady_ms() const = 0;
  // [loop] A timer that fires on the loop.
  virtual std::unique_ptr<BackoffTimer> make_timer() = 0;
};

// The system clock for latency and Asio steady timers on `io` for back-off: a wall-clock step
// never shortens or stretches a back-off.
class SystemUplinkClock final : public UplinkClock {
 public:
  explicit SystemUplinkClock(boost::asio::io_context& io) : io_(io) {}
  int64_t unix_ms() const override;
  int64_t steady_ms() const override;
  std::unique_ptr<BackoffTimer> make_timer() override;

 private:
  boost::asio::io_context& io_;
};

}  // namespace oemlink::uplink
