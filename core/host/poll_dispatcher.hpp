// PollDispatcher: turns the schedule into driver calls. It asks the PollScheduler what is due,
// starts polls and streams with a ticket each, routes the drivers' completions back (from any
// thread) to the loop, applies the states drivers report, restarts streams that end, and fails
// polls that never complete (the watchdog).
//
// It does not decide when a poll counts as done: a current completion goes to the `complete`
// hook (the DurabilityGate in the runtime), which calls apply_completion once the poll's events
// are durable.
//
// Threading: the host loop thread, except on_poll_done/on_stream_ended, which any thread may
// call. Time comes from the injected HostClock (steady for scheduling, wall for drivers' "until"
// times), so every timing rule here is tested with a fake clock.
#pragma once

#include "core/common/metrics.hpp"
#include "core/common/rate_limited_log.hpp"
#include "core/host/connection_table.hpp"
#include "core/host/driver_set.hpp"
#include "core/host/host_clock.hpp"
#include "core/host/poll_tickets.hpp"
#include "core/host/slow_call_log.hpp"
#include "core/schedule/poll_scheduler.hpp"

#include <oemlink/driver.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace oemlink::host {

struct DispatchOptions {
  schedule::SchedulePolicy policy;
  std::chrono::milliseconds slow_call_warning{1000};
  uint64_t stop_after_polls = 0;  // 0: never; else on_poll_limit runs after that many
  std::function<void()> on_poll_limit;
};

class PollDispatcher {
 public:
  // Receives each current poll completion; must eventually call apply_completion for it.
  using CompleteHook = std::function<void(uint32_t conn, oemlink_status, std::string message)>;

  PollDispatcher(boost::asio::io_context& io, const HostClock& clock, ConnectionTable& conns,
                 DriverSet& drivers, MetricsRegistry& metrics, DispatchOptions options);
  ~PollDispatcher();
  PollDispatcher(const PollDispatcher&) = delete;
  PollDispatcher& operator=(const PollDispatcher&) = delete;

  void set_complete_hook(CompleteHook hook) { complete_ = std::move(hook); }
  // Told (on the loop) of every NEEDS_REAUTH and OK a driver reports for a connection, after the
  // schedule applied it: the lifecycle persists the transitions.
  using StateHook = std::function<void(uint32_t conn, schedule::ReportedState, const std::string&)>;
  void set_state_hook(StateHook hook) { state_hook_ = std::move(hook); }
  // Told (on the loop, after the sweep) of each poll the watchdog gave up on, by instance index:
  // the runtime's hung-poll budget.
  void set_hung_hook(std::function<void(uint32_t instance)> hook) { hung_hook_ = std::move(hook); }

  // ---- set-up, before start() ----
  // Gives the driver its scheduler lane (its concurrency cap, rate limit and intervals).
  void add_driver(DriverInstance& d);
  // Schedules connection c (its index in the table) for its driver's mode. Also while running
  // (a connection added live): it is dispatched as soon as it is due.
  void add_connection(uint32_t c, const DriverInstance& d,
                      std::optional<std::chrono::milliseconds> poll_interval);
  // A connection that is not served (its driver was skipped, its open or key claim failed):
  // it keeps a slot with its index, stopped.
  void add_unserved_connection(uint32_t c);
  // A scheduled connection that could not open: stopped, like one that failed for good.
  void stop_connection(uint32_t c);

  // ---- running ----
  // Starts the driver-wide streams, then polling.
  void start();
  // [loop] Starts whatever is due now and re-arms the timer (the timer calls this; tests too).
  void dispatch();
  // [loop] Fails polls that have run past their driver's poll_timeout (the watchdog).
  void sweep_hung_polls();
  // [any-thread] A driver's `done`/`ended` through its ticket.
  void on_poll_done(TicketRef ref, oemlink_status status, std::string_view message);
  void on_stream_ended(TicketRef ref, oemlink_status status, std::string_view message);
  // [loop] A poll's completion, once the complete hook let it through.
  void apply_completion(uint32_t c, oemlink_status status, const std::string& message);
  // [loop] A driver's report_state for connection c. `until_ms` is wall-clock Unix ms.
  void apply_state(uint32_t c, oemlink_conn_state state, int64_t until_ms,
                   const std::string& reason);

  // ---- a connection's life while running [loop] ----
  // No new polls or stream starts for c; a running stream is stopped. `settled` runs (on the
  // loop, possibly at once) when no poll of c is in flight any more: its completion has been
  // applied (after its events were durable) or the watchdog gave it up.
  void pause_connection(uint32_t c, std::function<void()> settled);
  // Calls the driver's close for c once none of its polls is with the driver any more (a poll
  // the watchdog gave up on may still be: close waits for its late completion). Returns at once.
  void close_when_idle(uint32_t c);
  // Whether a close_when_idle is still waiting for c's driver.
  bool closing(uint32_t c) const { return close_waiters_.contains(c); }
  // Forgets a pending close_when_idle (the connection is resumed before its close happened).
  void cancel_close(uint32_t c) { close_waiters_.erase(c); }
  // Ends a pause, or a stop the driver caused (needs re-auth): scheduled now with its driver's
  // lane and mode (a connection loaded paused had no lane). False when c was neither.
  bool resume_connection(uint32_t c, const DriverInstance& d,
                         std::optional<std::chrono::milliseconds> poll_interval);
  // A waiting connection becomes due now (its driver's concurrency and rate limit still apply).
  bool poll_now(uint32_t c);
  bool paused(uint32_t c) const { return sched_.paused(c); }

  // ---- drivers changed by a reload [loop] ----
  // A driver created while running: its lane, and (with `start_stream`) its driver-wide stream
  // once started.
  void driver_added(DriverInstance& d, bool start_stream = true);
  // Starts d's driver-wide stream if its mode has one and polling has started (a reload held it).
  void start_driver_stream_of(DriverInstance& d);
  // Stops a retired driver's driver-wide stream (and its restarts).
  void stop_driver_stream(DriverInstance& d);
  // Polls and streams of instance `index` still with their driver.
  size_t outstanding_of(uint32_t index);

  // ---- shutdown ----
  // [loop] No new polls or stream restarts; timers cancelled.
  void stop_scheduling();
  // [loop] Stops every running stream; after stream_stop returns a driver will not call `ended`.
  void stop_streams();
  // [loop] Polls (including abandoned ones) still with their driver, by driver index.
  std::vector<size_t> outstanding_by_driver();
  size_t in_flight() const { return tickets_.live(); }

  // ---- figures ----
  const schedule::ScheduleStats& stats() const { return sched_.stats(); }
  schedule::Phase phase(uint32_t c) const { return sched_.phase(c); }
  schedule::ReportedState last_reported(uint32_t c) const { return sched_.last_reported(c); }
  size_t stopped_connections() const;
  uint64_t completed_polls() const { return polls_completed_; }
  // [loop] A timed driver call: counted and logged when it took longer than slow_call_warning.
  void note_call(const DriverInstance& d, const char* call, uint32_t c, int64_t took_ms);

 private:
  bool on_loop() const { return std::this_thread::get_id() == loop_thread_; }
  void schedule_dispatch();
  void arm_timer();
  void arm_watchdog();
  std::chrono::milliseconds watchdog_interval();
  Ticket* issue_ticket(uint32_t c, uint32_t instance, bool stream);
  TicketRef ref_of(const Ticket& t) const;
  void start_poll(uint32_t c);
  void start_stream(uint32_t c);
  void start_driver_stream(DriverInstance& d);
  void finish_poll(TicketRef ref, oemlink_status status, const std::string& message);
  void finish_stream(TicketRef ref, oemlink_status status, const std::string& message);
  void stop_stream(uint32_t c);
  void notify_settled(uint32_t c);
  void notify_idle(uint32_t c);
  bool has_live_poll(uint32_t c);

  boost::asio::io_context& io_;
  const HostClock& clock_;
  ConnectionTable& conns_;
  DriverSet& drivers_;
  DispatchOptions opts_;
  std::thread::id loop_thread_;
  uint8_t slot_ = 0;  // this dispatcher's slot for ticket routing
  schedule::PollScheduler sched_;
  uint16_t unserved_lane_ = 0;
  TicketPool tickets_;
  CompleteHook complete_;
  StateHook state_hook_;
  std::function<void(uint32_t)> hung_hook_;
  SlowCallLog slow_;
  // Few at a time (pauses being carried out), so a map each; the hot path checks empty().
  std::unordered_map<uint32_t, std::vector<std::function<void()>>> settle_waiters_;
  std::unordered_set<uint32_t> close_waiters_;
  bool started_ = false;

  boost::asio::steady_timer timer_;
  boost::asio::steady_timer watchdog_;
  std::chrono::milliseconds watchdog_every_{1000};  // set by start()
  int64_t armed_at_ = schedule::kNever;
  bool dispatch_posted_ = false;
  bool stopping_ = false;
  std::vector<schedule::ConnIndex> due_;
  uint64_t polls_completed_ = 0;

  // Per driver instance, by DriverInstance::index; created on first use. [loop]
  struct DriverPollMetrics {
    Counter* ok;
    Counter* retry;
    Counter* error;
    Counter* hung;
    Histogram* duration;
  };
  DriverPollMetrics& poll_metrics(uint32_t instance);
  void count_report(const std::string& driver, const char* what);

  MetricsRegistry& metrics_;
  std::vector<std::unique_ptr<DriverPollMetrics>> poll_metrics_;
  Counter& stream_restarts_;
  Counter& late_completions_;
  LogGate poll_log_;  // failed polls and ended streams, which a failing peer repeats
};

}  // namespace oemlink::host
