#include "core/host/poll_dispatcher.hpp"

#include "core/common/abi_text.hpp"
#include "core/host/driver_call_frame.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>

#include <algorithm>
#include <cassert>

namespace oemlink::host {
namespace {

// Rate-limit times from drivers are clamped: a value in microseconds or a garbage time would
// otherwise overflow timer arithmetic (and spin the loop) or park a car for centuries.
constexpr int64_t kMaxRateLimitMs = 30LL * 24 * 3600 * 1000;
// A stream that ran this long before failing restarts quickly; one that dies at once backs off.
constexpr int64_t kLongStreamMs = 60'000;

const char* status_name(oemlink_status s) {
  switch (s) {
    case OEMLINK_OK:
      return "ok";
    case OEMLINK_RETRY:
      return "retry";
    default:
      return "error";
  }
}

void OEMLINK_CALL poll_done_trampoline(void* ctx, oemlink_status status, oemlink_str message) {
  TicketRef ref = decode_ticket(ctx);
  if (PollDispatcher* d = dispatcher_at(ref.dispatcher_slot))
    d->on_poll_done(ref, status, abi_view(message));
}

void OEMLINK_CALL stream_ended_trampoline(void* ctx, oemlink_status status, oemlink_str message) {
  TicketRef ref = decode_ticket(ctx);
  if (PollDispatcher* d = dispatcher_at(ref.dispatcher_slot))
    d->on_stream_ended(ref, status, abi_view(message));
}

schedule::ConnMode mode_of(const config::DriverConfig& cfg) {
  switch (cfg.mode) {
    case config::IngestMode::poll:
    case config::IngestMode::poll_and_driver_stream:  // the driver-wide stream runs beside
      return schedule::ConnMode::poll;
    case config::IngestMode::stream:
      return schedule::ConnMode::stream;
    default:
      return schedule::ConnMode::passive;
  }
}

bool has_driver_stream(const config::DriverConfig& cfg) {
  return cfg.mode == config::IngestMode::driver_stream ||
         cfg.mode == config::IngestMode::poll_and_driver_stream;
}

// Seconds from a poll's start to its completion: an API answers in tens of milliseconds to
// seconds; a car woken up first takes tens of seconds; poll_timeout caps it (hung polls are not
// observed).
const std::vector<double> kPollDurationBuckets = {0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
                                                  2.5,  5,     10,   30,  60,   120};

}  // namespace

PollDispatcher::DriverPollMetrics& PollDispatcher::poll_metrics(uint32_t instance) {
  if (instance >= poll_metrics_.size()) poll_metrics_.resize(instance + 1);
  auto& m = poll_metrics_[instance];
  if (!m) {
    const std::string& name = drivers_[instance].name;
    auto polls = [&](const char* outcome) {
      return &metrics_.counter("oemlink_polls_total", "Polls completed, by driver and outcome",
                               {{"driver", name}, {"outcome", outcome}});
    };
    m = std::make_unique<DriverPollMetrics>(DriverPollMetrics{
        .ok = polls("ok"),
        .retry = polls("retry"),
        .error = polls("error"),
        .hung = &metrics_.counter("oemlink_polls_hung_total",
                                  "Polls the watchdog failed after poll_timeout (also counted "
                                  "as outcome=error)",
                                  {{"driver", name}}),
        .duration = &metrics_.histogram("oemlink_poll_duration_seconds",
                                        "From a poll's start to the driver's completion",
                                        kPollDurationBuckets, {{"driver", name}})});
  }
  return *m;
}

void PollDispatcher::count_report(const std::string& driver, const char* what) {
  metrics_
      .counter("oemlink_connection_reports_total",
               "State reports by drivers that changed a connection's polling: resumed, "
               "needs_reauth, failed, rate_limited",
               {{"driver", driver}, {"state", what}})
      .add();
}

PollDispatcher::PollDispatcher(boost::asio::io_context& io, const HostClock& clock,
                               ConnectionTable& conns, DriverSet& drivers, MetricsRegistry& metrics,
                               DispatchOptions options)
    : io_(io),
      clock_(clock),
      conns_(conns),
      drivers_(drivers),
      opts_(std::move(options)),
      loop_thread_(std::this_thread::get_id()),
      sched_(opts_.policy),
      slow_(opts_.slow_call_warning, metrics, clock),
      timer_(io),
      watchdog_(io),
      metrics_(metrics),
      stream_restarts_(metrics.counter("oemlink_stream_restarts_total",
                                       "Driver streams that ended and were restarted")),
      late_completions_(metrics.counter(
          "oemlink_driver_late_completions_total",
          "Poll or stream completions that came after the host had given up on them")),
      poll_log_(10, metrics) {
  slot_ = register_dispatcher(this);
  // Connections that are not served need a lane of their own: they are never scheduled.
  unserved_lane_ = sched_.add_driver(schedule::DriverLimits{});
}

PollDispatcher::~PollDispatcher() {
  // From here on, completions routed through tickets find no dispatcher and are dropped.
  unregister_dispatcher(slot_);
}

void PollDispatcher::add_driver(DriverInstance& d) {
  const config::DriverConfig& dc = *d.cfg;
  d.lane = sched_.add_driver(schedule::DriverLimits{
      .max_concurrent = dc.max_concurrent_requests,
      .rate_per_s = dc.rate_limit.per_second,
      .burst = dc.rate_limit.burst,
      .poll_interval_ms = dc.poll_interval.count(),
      .asleep_interval_ms = dc.asleep_interval.count(),
  });
}

void PollDispatcher::add_connection([[maybe_unused]] uint32_t c, const DriverInstance& d,
                                    std::optional<std::chrono::milliseconds> poll_interval) {
  int64_t interval = poll_interval ? poll_interval->count() : 0;
  [[maybe_unused]] schedule::ConnIndex i =
      sched_.add_connection(d.lane, clock_.steady_ms(), interval, mode_of(*d.cfg));
  assert(i == c);
  if (started_) schedule_dispatch();
}

void PollDispatcher::add_unserved_connection(uint32_t c) {
  int64_t now = clock_.steady_ms();
  [[maybe_unused]] schedule::ConnIndex i =
      sched_.add_connection(unserved_lane_, now, 1, schedule::ConnMode::passive);
  assert(i == c);
  sched_.report(c, schedule::ReportedState::failed, 0, now);
}

void PollDispatcher::stop_connection(uint32_t c) {
  sched_.report(c, schedule::ReportedState::failed, 0, clock_.steady_ms());
}

size_t PollDispatcher::stopped_connections() const {
  size_t n = 0;
  for (uint32_t c = 0; c < conns_.size(); ++c)
    if (sched_.phase(c) == schedule::Phase::stopped) ++n;
  return n;
}

void PollDispatcher::note_call(const DriverInstance& d, const char* call, uint32_t c,
                               int64_t took_ms) {
  slow_.note(d.name, call, c == kNoConn ? std::string_view() : conns_[c].id, took_ms);
}

// ---------------------------------------------------------------------------------------------
// Polls and the schedule
// ---------------------------------------------------------------------------------------------

void PollDispatcher::start() {
  loop_thread_ = std::this_thread::get_id();
  started_ = true;
  for (size_t i = 0; i < drivers_.size(); ++i) {
    DriverInstance& d = drivers_[i];
    if (d.inst && has_driver_stream(*d.cfg)) start_driver_stream(d);
  }
  watchdog_every_ = watchdog_interval();
  arm_watchdog();
  schedule_dispatch();
}

// Sweep often enough that a hung poll is caught within a quarter of the shortest timeout.
std::chrono::milliseconds PollDispatcher::watchdog_interval() {
  std::chrono::milliseconds every{1000};
  for (size_t i = 0; i < drivers_.size(); ++i)
    if (!drivers_[i].retired) every = std::min(every, drivers_[i].cfg->poll_timeout / 4);
  return std::max(every, std::chrono::milliseconds(50));
}

void PollDispatcher::driver_added(DriverInstance& d, bool start_stream) {
  add_driver(d);
  if (!started_ || stopping_) return;
  if (start_stream) start_driver_stream_of(d);
  // Its poll_timeout may be the shortest now; the next sweep is armed with it.
  watchdog_every_ = watchdog_interval();
}

void PollDispatcher::start_driver_stream_of(DriverInstance& d) {
  if (!started_ || stopping_ || d.retired || d.stream_up) return;
  if (d.inst && has_driver_stream(*d.cfg)) start_driver_stream(d);
}

void PollDispatcher::stop_driver_stream(DriverInstance& d) {
  if (d.stream_restart) d.stream_restart->cancel();
  if (!d.inst || !d.stream_up) return;
  LogScope in_call(LogFields{.driver = d.name});
  call_driver(d, "stream_stop", {}, [&] { d.d->stream_stop(d.inst, nullptr, nullptr); });
  d.stream_up = false;
  tickets_.for_each_live([&](Ticket* t) {
    if (t->stream && t->conn == kNoConn && t->instance == d.index) tickets_.release(t);
  });
}

size_t PollDispatcher::outstanding_of(uint32_t index) {
  size_t n = 0;
  tickets_.for_each_live([&](Ticket* t) { n += t->instance == index ? 1 : 0; });
  return n;
}

void PollDispatcher::schedule_dispatch() {
  if (dispatch_posted_ || stopping_) return;
  dispatch_posted_ = true;
  boost::asio::post(io_, [this] {
    dispatch_posted_ = false;
    dispatch();
  });
}

void PollDispatcher::dispatch() {
  if (stopping_) return;
  due_.clear();
  sched_.take_due(clock_.steady_ms(), due_);
  for (schedule::ConnIndex c : due_) {
    if (stopping_) break;
    if (sched_.is_stream(c))
      start_stream(c);
    else
      start_poll(c);
  }
  arm_timer();
}

void PollDispatcher::arm_timer() {
  if (stopping_) return;
  int64_t now = clock_.steady_ms();
  int64_t next = sched_.next_wakeup(now);
  if (next == schedule::kNever) return;
  // Wake at least hourly: bounds timer arithmetic whatever a due time says.
  next = std::min(next, now + 3'600'000);
  if (next >= armed_at_) return;  // the pending wait fires early enough
  armed_at_ = next;
  timer_.expires_after(std::chrono::milliseconds(std::max<int64_t>(0, next - now)));
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;  // re-armed or stopped
    armed_at_ = schedule::kNever;
    dispatch();
  });
}

void PollDispatcher::arm_watchdog() {
  watchdog_.expires_after(watchdog_every_);
  watchdog_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopping_) return;
    sweep_hung_polls();
    arm_watchdog();
  });
}

Ticket* PollDispatcher::issue_ticket(uint32_t c, uint32_t instance, bool stream) {
  Ticket* t = tickets_.acquire();
  t->conn = c;
  t->instance = instance;
  t->seq = c == kNoConn ? 0 : sched_.poll_seq(c);
  t->stream = stream;
  t->started_ms = clock_.steady_ms();
  return t;
}

TicketRef PollDispatcher::ref_of(const Ticket& t) const {
  return TicketRef{slot_, t.self - 1, t.generation & 0xFFFFFFu};
}

void PollDispatcher::start_poll(uint32_t c) {
  ConnectionRecord& r = conns_[c];
  DriverInstance& d = drivers_[r.instance];
  poll_metrics(r.instance);  // the families exist from the first poll, whatever its outcome
  Ticket* t = issue_ticket(c, r.instance, false);
  TicketRef ref = ref_of(*t);
  // Whatever the driver and the host log inside the call names the driver and the connection.
  LogScope in_call(LogFields{.driver = d.name, .connection = r.id});
  auto t0 = std::chrono::steady_clock::now();
  oemlink_status st = call_driver(d, "poll", r.id, [&] {
    return d.d->poll(d.inst, ConnectionTable::handle_of(c), r.driver_ctx, &poll_done_trampoline,
                     encode_ticket(slot_, *t));
  });
  note_call(
      d, "poll", c,
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count());
  if (st != OEMLINK_OK && tickets_.find(ref)) {
    // The poll did not start, so `done` will not come: finish it here.
    finish_poll(ref, st == OEMLINK_RETRY ? OEMLINK_RETRY : OEMLINK_ERROR, "poll refused to start");
  }
}

void PollDispatcher::on_poll_done(TicketRef ref, oemlink_status status, std::string_view message) {
  if (on_loop()) {
    finish_poll(ref, status, std::string(message));
    return;
  }
  boost::asio::post(
      io_, [this, ref, status, msg = std::string(message)] { finish_poll(ref, status, msg); });
}

void PollDispatcher::finish_poll(TicketRef ref, oemlink_status status, const std::string& message) {
  Ticket* t = tickets_.find(ref);
  if (!t || t->stream) {  // released already: a duplicate or very late completion
    late_completions_.add();
    return;
  }
  if (t->abandoned) {  // the watchdog already failed this poll; only the ticket was waiting
    uint32_t c = t->conn;
    tickets_.release(t);
    late_completions_.add();
    if (!close_waiters_.empty()) notify_idle(c);
    return;
  }
  uint32_t c = t->conn;
  bool current = sched_.phase(c) == schedule::Phase::in_flight && sched_.poll_seq(c) == t->seq;
  const int64_t took_ms = clock_.steady_ms() - t->started_ms;
  const uint32_t instance = t->instance;
  tickets_.release(t);
  if (!current) {
    late_completions_.add();
    return;
  }
  poll_metrics(instance).duration->observe(static_cast<double>(std::max<int64_t>(0, took_ms)) /
                                           1000.0);
  // The connection stays in flight (holding its driver's concurrency slot: back-pressure) until
  // the hook lets the completion through.
  if (complete_)
    complete_(c, status, message);
  else
    apply_completion(c, status, message);
}

void PollDispatcher::apply_completion(uint32_t c, oemlink_status status,
                                      const std::string& message) {
  const DriverInstance& d = drivers_[conns_[c].instance];
  LogScope about(LogFields{.driver = d.name, .connection = conns_[c].id});
  auto outcome = status == OEMLINK_OK      ? schedule::Outcome::ok
                 : status == OEMLINK_RETRY ? schedule::Outcome::retry
                                           : schedule::Outcome::error;
  DriverPollMetrics& pm = poll_metrics(conns_[c].instance);
  (status == OEMLINK_OK ? pm.ok : status == OEMLINK_RETRY ? pm.retry : pm.error)->add();
  int64_t now = clock_.steady_ms();
  sched_.complete(c, outcome, now);
  if (status != OEMLINK_OK) {
    // A connection that is not waiting (closing, or moving in a reload) has no next poll here.
    const bool waiting = sched_.phase(c) == schedule::Phase::waiting;
    const std::string next =
        waiting ? "next poll in " +
                      std::to_string(std::max<int64_t>(0, sched_.due(c) - now) / 1000) + " s"
                : "no next poll scheduled";
    poll_log_.log(now, spdlog::level::warn, {},
                  "connection {} (driver {}): poll {}: {} (failure #{}, {})", conns_[c].id, d.name,
                  status_name(status), message.empty() ? "(no message)" : message,
                  sched_.failures(c), next);
  }
  ++polls_completed_;
  if (!settle_waiters_.empty()) notify_settled(c);
  if (opts_.stop_after_polls && polls_completed_ >= opts_.stop_after_polls && opts_.on_poll_limit)
    opts_.on_poll_limit();
  schedule_dispatch();
}

// A driver that never calls `done` would hold its connection and a concurrency slot forever.
// Give up on such polls: log, count, fail them in the schedule, and keep the ticket until the
// late completion (if any) arrives so it is recognised and ignored.
void PollDispatcher::sweep_hung_polls() {
  int64_t now = clock_.steady_ms();
  tickets_.for_each_live([&](Ticket* t) {
    if (t->stream || t->abandoned || t->conn >= conns_.size()) return;
    const DriverInstance& d = drivers_[t->instance];
    int64_t age = now - t->started_ms;
    if (age < d.cfg->poll_timeout.count()) return;
    if (sched_.phase(t->conn) != schedule::Phase::in_flight || sched_.poll_seq(t->conn) != t->seq)
      return;
    t->abandoned = true;
    DriverPollMetrics& pm = poll_metrics(t->instance);
    pm.hung->add();
    pm.error->add();
    sched_.complete(t->conn, schedule::Outcome::error, now);
    if (!settle_waiters_.empty()) {
      uint32_t c = t->conn;
      boost::asio::post(io_, [this, c] { notify_settled(c); });  // not inside for_each_live
    }
    poll_log_.log(now, spdlog::level::err,
                  LogFields{.driver = d.name, .connection = conns_[t->conn].id},
                  "connection {} (driver {}): poll has not completed after {} s; counted as hung "
                  "and failed (a late completion will be ignored)",
                  conns_[t->conn].id, d.name, age / 1000);
    if (hung_hook_) {
      const uint32_t instance = t->instance;
      boost::asio::post(io_, [this, instance] { hung_hook_(instance); });  // not inside the walk
    }
  });
  schedule_dispatch();
}

void PollDispatcher::apply_state(uint32_t c, oemlink_conn_state state, int64_t until_ms,
                                 const std::string& reason) {
  using RS = schedule::ReportedState;
  const ConnectionRecord& r = conns_[c];
  const std::string& driver = drivers_[r.instance].name;
  LogScope about(LogFields{.driver = driver, .connection = r.id});
  RS rs;
  switch (state) {
    case OEMLINK_STATE_OK:
      rs = RS::ok;
      break;
    case OEMLINK_STATE_ASLEEP:
      rs = RS::asleep;
      break;
    case OEMLINK_STATE_RATE_LIMITED:
      rs = RS::rate_limited;
      break;
    case OEMLINK_STATE_NEEDS_REAUTH:
      rs = RS::needs_reauth;
      break;
    case OEMLINK_STATE_FAILED:
      rs = RS::failed;
      break;
    default:
      // A state from a newer ABI minor: stopping the car for it would be worse than ignoring it.
      spdlog::warn("connection {} (driver {}): unknown state {} ignored", r.id, driver, state);
      return;
  }
  // Drivers speak wall-clock Unix ms; the schedule runs on the steady clock.
  int64_t wall = clock_.wall_ms(), now = clock_.steady_ms();
  int64_t until = 0;
  if (rs == RS::rate_limited && until_ms > 0) {
    int64_t wait = std::clamp<int64_t>(until_ms - wall, 0, kMaxRateLimitMs);
    if (until_ms - wall > kMaxRateLimitMs)
      spdlog::warn(
          "connection {} (driver {}): rate limit until {} ms is more than 30 days away; "
          "capped at 30 days",
          r.id, driver, until_ms);
    until = now + wait;
  }
  auto before = sched_.phase(c);
  // OK for a stopped car is the driver's positive evidence that it works again (a webhook's
  // VEHICLE_ERROR resolved, tokens re-seeded): polling resumes. A stopped per-connection stream
  // is left alone; its restart belongs to the stream's own life cycle.
  if (rs == RS::ok && before == schedule::Phase::stopped && !sched_.is_stream(c) &&
      !sched_.paused(c)) {
    sched_.resume(c, now);
    spdlog::info("connection {} (driver {}): reported OK again; polling resumes", r.id, driver);
    count_report(driver, "resumed");
    if (state_hook_) state_hook_(c, rs, reason);
    schedule_dispatch();
    return;
  }
  sched_.report(c, rs, until, now);
  switch (rs) {
    case RS::needs_reauth:
      count_report(driver, "needs_reauth");
      spdlog::warn(
          "connection {} (driver {}): needs re-authentication ({}); polling stopped "
          "until the owner links the car again",
          r.id, driver, reason.empty() ? "no reason given" : reason);
      break;
    case RS::failed:
      count_report(driver, "failed");
      spdlog::error("connection {} (driver {}): failed permanently ({}); polling stopped", r.id,
                    driver, reason.empty() ? "no reason given" : reason);
      break;
    case RS::rate_limited:
      count_report(driver, "rate_limited");
      spdlog::info("connection {} (driver {}): rate-limited for {} s ({})", r.id, driver,
                   until ? (until - now) / 1000 : -1, reason);
      break;
    case RS::asleep:
      spdlog::debug("connection {} (driver {}): asleep", r.id, driver);
      break;
    case RS::ok:
      break;
  }
  if (state_hook_ && (rs == RS::needs_reauth || rs == RS::ok)) state_hook_(c, rs, reason);
  // A running per-connection stream whose tokens died is stopped — from the loop, not from
  // inside whatever driver call reported it, so calls for one connection never nest.
  if (before == schedule::Phase::streaming && sched_.phase(c) == schedule::Phase::stopped &&
      sched_.is_stream(c)) {
    boost::asio::post(io_, [this, c] {
      if (!stopping_ && conns_[c].open) stop_stream(c);
    });
  }
  schedule_dispatch();
}

// ---------------------------------------------------------------------------------------------
// Streams
// ---------------------------------------------------------------------------------------------

void PollDispatcher::start_stream(uint32_t c) {
  ConnectionRecord& r = conns_[c];
  DriverInstance& d = drivers_[r.instance];
  Ticket* t = issue_ticket(c, r.instance, true);
  TicketRef ref = ref_of(*t);
  sched_.stream_up(c);
  LogScope in_call(LogFields{.driver = d.name, .connection = r.id});
  oemlink_status st = call_driver(d, "stream_start", r.id, [&] {
    return d.d->stream_start(d.inst, ConnectionTable::handle_of(c), r.driver_ctx,
                             &stream_ended_trampoline, encode_ticket(slot_, *t));
  });
  if (st != OEMLINK_OK && tickets_.find(ref)) {
    tickets_.release(t);
    sched_.stream_ended(c, false, clock_.steady_ms());
    spdlog::warn("connection {} (driver {}): stream did not start; retrying with back-off", r.id,
                 d.name);
    schedule_dispatch();
  }
}

void PollDispatcher::on_stream_ended(TicketRef ref, oemlink_status status,
                                     std::string_view message) {
  if (on_loop()) {
    finish_stream(ref, status, std::string(message));
    return;
  }
  boost::asio::post(
      io_, [this, ref, status, msg = std::string(message)] { finish_stream(ref, status, msg); });
}

void PollDispatcher::finish_stream(TicketRef ref, oemlink_status status,
                                   const std::string& message) {
  Ticket* t = tickets_.find(ref);
  if (!t || !t->stream) {
    late_completions_.add();
    return;
  }
  DriverInstance& d = drivers_[t->instance];
  LogScope about(LogFields{.driver = d.name});
  int64_t now = clock_.steady_ms();
  bool long_run = now - t->started_ms > kLongStreamMs;
  uint32_t c = t->conn;
  bool current = c == kNoConn || sched_.poll_seq(c) == t->seq;
  tickets_.release(t);
  if (stopping_ || !current) return;
  stream_restarts_.add();
  if (c == kNoConn) {  // the driver-wide stream
    d.stream_up = false;
    d.stream_failures = long_run ? 1 : static_cast<uint8_t>(std::min(d.stream_failures + 1, 30));
    int64_t delay = std::min<int64_t>(opts_.policy.max_backoff_ms,
                                      1000LL << std::min<int>(d.stream_failures - 1, 20));
    spdlog::warn("driver {}: stream ended ({}: {}); restarting in {} ms", d.name,
                 status_name(status), message, delay);
    d.stream_restart->expires_after(std::chrono::milliseconds(delay));
    d.stream_restart->async_wait([this, &d](const boost::system::error_code& ec) {
      if (!ec && !stopping_ && !d.retired) start_driver_stream(d);
    });
    return;
  }
  sched_.stream_ended(c, long_run, now);
  poll_log_.log(now, spdlog::level::warn, LogFields{.connection = conns_[c].id},
                "connection {} (driver {}): stream ended ({}: {}); restart in {} ms", conns_[c].id,
                d.name, status_name(status), message,
                sched_.phase(c) == schedule::Phase::waiting ? sched_.due(c) - now : -1);
  schedule_dispatch();
}

void PollDispatcher::start_driver_stream(DriverInstance& d) {
  if (!d.stream_restart) d.stream_restart = std::make_unique<boost::asio::steady_timer>(io_);
  Ticket* t = issue_ticket(kNoConn, d.index, true);
  TicketRef ref = ref_of(*t);
  d.stream_up = true;
  LogScope in_call(LogFields{.driver = d.name});
  oemlink_status st = call_driver(d, "stream_start", {}, [&] {
    return d.d->stream_start(d.inst, nullptr, nullptr, &stream_ended_trampoline,
                             encode_ticket(slot_, *t));
  });
  if (st != OEMLINK_OK && tickets_.find(ref)) finish_stream(ref, st, "stream did not start");
}

// The host stopped a stream itself (shutdown, dead tokens): after stream_stop returns the driver
// will not call `ended`, so the stream's ticket is released here.
void PollDispatcher::stop_stream(uint32_t c) {
  DriverInstance& d = drivers_[conns_[c].instance];
  LogScope in_call(LogFields{.driver = d.name, .connection = conns_[c].id});
  call_driver(d, "stream_stop", conns_[c].id, [&] {
    d.d->stream_stop(d.inst, ConnectionTable::handle_of(c), conns_[c].driver_ctx);
  });
  tickets_.for_each_live([&](Ticket* t) {
    if (t->stream && t->conn == c) tickets_.release(t);
  });
}

// ---------------------------------------------------------------------------------------------
// A connection's life while running
// ---------------------------------------------------------------------------------------------

void PollDispatcher::pause_connection(uint32_t c, std::function<void()> settled) {
  bool streaming = sched_.phase(c) == schedule::Phase::streaming && sched_.is_stream(c);
  bool in_flight = sched_.pause(c);
  if (streaming && conns_[c].open) stop_stream(c);
  if (!in_flight) {
    settled();
    return;
  }
  settle_waiters_[c].push_back(std::move(settled));
}

void PollDispatcher::notify_settled(uint32_t c) {
  if (sched_.phase(c) == schedule::Phase::in_flight) return;
  auto it = settle_waiters_.find(c);
  if (it == settle_waiters_.end()) return;
  std::vector<std::function<void()>> waiting = std::move(it->second);
  settle_waiters_.erase(it);
  for (auto& fn : waiting) fn();
}

bool PollDispatcher::has_live_poll(uint32_t c) {
  bool live = false;
  tickets_.for_each_live([&](Ticket* t) {
    if (!t->stream && t->conn == c) live = true;
  });
  return live;
}

void PollDispatcher::close_when_idle(uint32_t c) {
  if (sched_.phase(c) != schedule::Phase::in_flight && !has_live_poll(c)) {
    DriverInstance& d = drivers_[conns_[c].instance];
    conns_.close(c, d);
    return;
  }
  close_waiters_.insert(c);
}

void PollDispatcher::notify_idle(uint32_t c) {
  if (!close_waiters_.contains(c) || has_live_poll(c)) return;
  close_waiters_.erase(c);
  DriverInstance& d = drivers_[conns_[c].instance];
  conns_.close(c, d);
}

bool PollDispatcher::resume_connection(uint32_t c, const DriverInstance& d,
                                       std::optional<std::chrono::milliseconds> poll_interval) {
  int64_t interval = poll_interval ? poll_interval->count() : 0;
  if (!sched_.restart(c, d.lane, interval, mode_of(*d.cfg), clock_.steady_ms())) return false;
  if (started_) schedule_dispatch();
  return true;
}

bool PollDispatcher::poll_now(uint32_t c) {
  if (!sched_.poll_now(c, clock_.steady_ms())) return false;
  if (started_) schedule_dispatch();
  return true;
}

// ---------------------------------------------------------------------------------------------
// Shutdown
// ---------------------------------------------------------------------------------------------

void PollDispatcher::stop_scheduling() {
  stopping_ = true;
  timer_.cancel();
  watchdog_.cancel();
}

void PollDispatcher::stop_streams() {
  for (uint32_t c = 0; c < conns_.size(); ++c) {
    if (sched_.phase(c) == schedule::Phase::streaming && sched_.is_stream(c) && conns_[c].open)
      stop_stream(c);
  }
  for (size_t i = 0; i < drivers_.size(); ++i) stop_driver_stream(drivers_[i]);
}

std::vector<size_t> PollDispatcher::outstanding_by_driver() {
  std::vector<size_t> n(drivers_.size());  // sized now: a reload may have added drivers
  tickets_.for_each_live([&](Ticket* t) {
    if (!t->stream) n[t->instance]++;  // abandoned polls too: the driver may still finish them
  });
  return n;
}

}  // namespace oemlink::host
