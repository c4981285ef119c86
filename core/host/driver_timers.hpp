// The ABI's timer service: one-shot timers on the host loop, each fired or cancelled exactly
// once. After close() no new timer starts (it could never fire or be cancelled), and drain()
// fires every pending one as cancelled, so a driver's callbacks have all run before it is closed.
//
// Each timer may carry its owner, the driver instance: its count of callbacks still owed
// (DriverInstance::callbacks_pending) is raised at start and lowered once the callback has
// returned, the callback runs inside a DriverCallFrame naming it, and cancel_owned() cancels one
// driver's timers (a live reload retiring an instance).
//
// Threading: start/cancel from any thread (they hop onto the loop); close/drain on the loop.
#pragma once

#include <oemlink/driver.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <thread>

namespace oemlink::host {

struct DriverInstance;

class DriverTimers {
 public:
  explicit DriverTimers(boost::asio::io_context& io) : io_(io) {}

  // Returns the timer's id (never 0), or 0 when refused (no callback, or closed).
  uint64_t start(uint32_t delay_ms, oemlink_timer_fn fn, void* ctx,
                 DriverInstance* owner = nullptr);
  void cancel(uint64_t id);
  // [loop] Cancels every pending timer of `owner` (each fires as cancelled).
  void cancel_owned(const DriverInstance* owner);

  // [loop] Refuse new timers from now on.
  void close() { closed_ = true; }
  bool closed() const { return closed_; }
  // [loop] Cancels every pending timer and runs the loop until each callback has fired.
  void drain();
  size_t pending() const { return timers_.size(); }

 private:
  struct Timer {
    explicit Timer(boost::asio::io_context& io) : timer(io) {}
    boost::asio::steady_timer timer;
    oemlink_timer_fn fn = nullptr;
    void* ctx = nullptr;
    DriverInstance* owner = nullptr;
  };
  static void fire(oemlink_timer_fn fn, void* ctx, int32_t cancelled, DriverInstance* owner);
  bool on_loop() const { return std::this_thread::get_id() == loop_thread_; }

  boost::asio::io_context& io_;
  std::thread::id loop_thread_ = std::this_thread::get_id();
  std::map<uint64_t, std::unique_ptr<Timer>> timers_;
  std::atomic<uint64_t> next_id_{1};
  std::atomic<bool> closed_{false};
};

}  // namespace oemlink::host
