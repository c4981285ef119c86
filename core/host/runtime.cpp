#include "core/host/runtime.hpp"

#include "core/common/early_stop_signal.hpp"

#include "core/common/data_dir.hpp"
#include "core/common/process_metrics.hpp"
#include "core/common/secure_wipe.hpp"
#include "core/host/connection_control.hpp"
#include "core/host/connection_lifecycle.hpp"
#include "core/host/connection_rows.hpp"
#include "core/host/data_dir_lock.hpp"
#include "core/host/data_keys.hpp"
#include "core/host/driver_call_frame.hpp"
#include "core/host/driver_quarantine.hpp"
#include "core/host/driver_timers.hpp"
#include "core/host/durability_gate.hpp"
#include "core/host/host_services.hpp"
#include "core/host/pipeline_assembly.hpp"
#include "core/host/poll_dispatcher.hpp"
#include "core/host/runtime_report.hpp"
#include "core/host/secret_access.hpp"
#include "core/host/status_writer.hpp"
#include "core/host/store_connection_rows.hpp"
#include "core/host/webhook_routes.hpp"
#include "core/net/http_client.hpp"
#include "core/net/http_listener.hpp"
#include "core/net/route_table.hpp"
#include "core/store/connection_store.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>

#include <csignal>

namespace oemlink::host {

using Clock = std::chrono::steady_clock;

RuntimeOptions default_runtime_options() {
  RuntimeOptions o;
  uplink::register_builtin_sinks(o.sinks);
  return o;
}

Runtime::Runtime(config::Config cfg, RuntimeOptions options)
    : cfg_(std::move(cfg)),
      opts_(std::move(options)),
      clock_(opts_.clock ? *opts_.clock : system_clock()),
      drivers_(cfg_, opts_.plugin_dirs),
      stats_timer_(io_),
      status_timer_(io_),
      flush_timer_(io_),
      duration_timer_(io_),
      retire_timer_(io_),
      conns_open_failed_(metrics_.counter("oemlink_connections_open_failed_total",
                                          "Connections whose driver open() failed (not polled)")),
      conns_skipped_(metrics_.counter("oemlink_connections_skipped_total",
                                      "Connections skipped at start (their driver did not load)")) {
  process_metrics_ = register_process_metrics(metrics_);
}

Runtime::~Runtime() {
  // run() normally closed everything; if start() threw half way, close what was opened.
  if (!closed_) close_everything(/*abandoned_any=*/false);
  // A driver still busy is kept alive (DriverSet); from here on its host table refuses, and its
  // late completions find no dispatcher.
  drivers_.detach_services();
  // The components and the lifecycle hold hooks into the dispatcher: they go before it does.
  components_.clear();
  control_.reset();
  dispatcher_.reset();
}

const schedule::ScheduleStats& Runtime::schedule_stats() const {
  return dispatcher_->stats();
}

schedule::Phase Runtime::connection_phase(uint32_t i) const {
  return dispatcher_->phase(i);
}

void Runtime::reset_sink_latency() {
  if (assembly_) assembly_->reset_sink_latency();
}

std::vector<std::pair<std::string, uplink::DispatcherStats>> Runtime::sink_stats() const {
  return assembly_ ? assembly_->sink_stats()
                   : std::vector<std::pair<std::string, uplink::DispatcherStats>>{};
}

RuntimeHealth Runtime::health() const {
  RuntimeHealth h;
  h.now_steady_ms = clock_.steady_ms();
  // A component asks while start() is still building (never, today): it counts from now.
  h.started_steady_ms = started_ ? started_steady_ms_ : h.now_steady_ms;
  h.config_loaded = started_;
  h.config_source = cfg_.source.string();
  h.stopping = stopping_ || closed_;
  h.vault_open = assembly_ != nullptr;  // the assembly exists only with its vault open
  store::OutboxStore* outbox = assembly_ ? assembly_->outbox() : nullptr;
  h.outbox_present = outbox != nullptr;
  if (outbox) {
    store::OutboxCommitHealth c = outbox->commit_health();
    h.outbox_failing = c.failing;
    h.outbox_consecutive_failures = c.consecutive_failures;
    h.outbox_error = std::move(c.last_error);
  }
  for (auto& [name, stats] : sink_stats()) {
    SinkHealth s;
    s.name = name;
    for (const config::SinkConfig& sc : cfg_.sinks)
      if (sc.name == name) s.staleness = sc.staleness;
    s.pending = stats.pending;
    s.delivered = stats.delivered;
    s.last_delivered_steady_ms = stats.last_delivered_steady_ms;
    s.started_steady_ms = stats.started_steady_ms;
    h.sinks.push_back(std::move(s));
  }
  h.clock_skew_ms = clock_skew_.skew_ms(clock_.wall_ms(), net::ClockSkewEstimator::steady_now_ms());
  return h;
}

// Our wall clock minus true time, as learnt from HTTPS Date headers: 0 until an estimate holds
// (and under 2 s, which one-second Date headers cannot tell from jitter).
void Runtime::register_clock_skew_metric() {
  Gauge& skew = metrics_.gauge("oemlink_clock_skew_seconds",
                               "Local wall clock minus true time, from HTTPS Date headers "
                               "(positive: ahead; 0 until 3 answers agree or under 2 s)");
  clock_skew_metric_ = metrics_.add_collector([this, &skew] {
    const auto ms = clock_skew_.skew_ms(clock_.wall_ms(), net::ClockSkewEstimator::steady_now_ms());
    skew.set(static_cast<double>(ms.value_or(0)) / 1000.0);
  });
}

// ---------------------------------------------------------------------------------------------
// Start-up
// ---------------------------------------------------------------------------------------------

void Runtime::start() {
  // Refuse what check-config would refuse before opening the vault, the outbox or any file.
  DriverCheckReport drivers = check_drivers(cfg_, opts_.plugin_dirs);
  if (!drivers.errors.empty()) throw StartupError(join_lines(drivers.errors));
  try {
    lock_ = std::make_unique<DataDirLock>(DataDir(cfg_.data_dir), "oemlink run");
  } catch (const std::exception& e) {
    throw StartupError(e.what());
  }
  // From here on a crash inside a driver names it and counts towards its quarantine.
  quarantine_ = std::make_unique<DriverQuarantine>(DataDir(cfg_.data_dir).driver_faults_log());
  install_crash_reporter(quarantine_->file());
  apply_quarantine(drivers, cfg_.quarantine);
  hung_budget_.set(cfg_.quarantine.after_hung_polls, cfg_.quarantine.hung_window.count());
  const size_t stored_live = open_connection_store();
  net::HttpClientOptions http;
  http.default_timeout = cfg_.http.default_timeout;
  http.allow_plain_http = cfg_.http.allow_plain_http;
  http.ca_file = cfg_.http.ca_file;
  http.max_connections_per_host = cfg_.http.max_connections_per_host;
  http.clock_skew = &clock_skew_;
  http_ = std::make_unique<net::CurlMultiClient>(io_, http);
  register_clock_skew_metric();

  assembly_ = std::make_unique<PipelineAssembly>(
      cfg_, io_, metrics_, opts_.sinks, opts_.extra_sinks, &clock_skew_,
      AssemblyHooks{
          .durable =
              [this](uint64_t seq) {
                gate_->durable_through(seq);
                assembly_->wake_delivery();
              },
          .settled = [this](uint32_t c, uint64_t receipt) { gate_->batch_settled(c, receipt); },
      });

  DispatchOptions dispatch;
  dispatch.policy.jitter = cfg_.schedule.jitter;
  dispatch.policy.max_backoff_ms = cfg_.schedule.max_backoff.count();
  dispatch.slow_call_warning = cfg_.schedule.slow_call_warning;
  dispatch.stop_after_polls = opts_.stop_after_polls;
  dispatch.on_poll_limit = [this] { request_stop(); };
  dispatcher_ = std::make_unique<PollDispatcher>(io_, clock_, conns_, drivers_, metrics_, dispatch);

  store::OutboxStore* outbox = assembly_->outbox();
  gate_ = std::make_unique<DurabilityGate>(
      stored_live, outbox != nullptr, outbox ? outbox->stats().durable_seq : 0,
      [this](uint32_t c, oemlink_status st, const std::string& msg) {
        dispatcher_->apply_completion(c, st, msg);
      });
  // A poll counts as done only once what it emitted is durable in the outbox.
  dispatcher_->set_hung_hook([this](uint32_t instance) { on_hung_poll(instance); });
  dispatcher_->set_complete_hook([this](uint32_t c, oemlink_status st, std::string msg) {
    gate_->complete(c, st, std::move(msg));
  });

  timers_ = std::make_unique<DriverTimers>(io_);
  // Like the outbox, the secret store's data key is sealed under the deployment's KEK: a copied
  // data dir reveals no OAuth token without it.
  secrets_ = std::make_unique<SecretAccess>([this] {
    const LockedDataKey key = open_sealed_data_key(cfg_, DataKeyPurpose::secrets);
    return std::make_unique<store::SecretStore>(DataDir(cfg_.data_dir).secrets_db(), key.get());
  });
  mqtt_ = std::make_unique<MqttSubscriptions>(metrics_);
  services_ = std::make_unique<HostServices>(ServiceParts{
      .io = io_,
      .clock = clock_,
      .metrics = metrics_,
      .conns = conns_,
      .dispatcher = *dispatcher_,
      .gate = *gate_,
      .signing = assembly_->signing(),
      .http = *http_,
      .secrets = *secrets_,
      .timers = *timers_,
      .mqtt = mqtt_.get(),
      .clock_skew = &clock_skew_,
  });

  if (cfg_.listeners.inbound) services_->set_public_url(cfg_.listeners.inbound->public_url);
  // A closed connection's event-time history goes, behind its last batches. Not at shutdown:
  // the whole pipeline goes then.
  conns_.set_closed_hook([this](const ConnectionRecord& r) {
    if (!closed_) assembly_->signing().forget(r.id);
  });

  drivers_.load_all(drivers, services_.get(),
                    [this](DriverInstance& d, const char* call, int64_t ms) {
                      dispatcher_->note_call(d, call, kNoConn, ms);
                    });
  for (size_t i = 0; i < drivers_.size(); ++i)
    if (drivers_[i].inst) dispatcher_->add_driver(drivers_[i]);
  open_connections();
  // Rows loaded from the store may outnumber the YAML's connections.
  gate_->grow_to(conns_.size());
  open_connection_control();
  start_listener();
  started_ = true;
  started_steady_ms_ = clock_.steady_ms();
}

// The connections' live control over the connection store's rows (store_, opened by
// open_connections). Before the listener and the components, which call into it.
void Runtime::open_connection_control() {
  rows_ = std::make_unique<StoreConnectionRows>(*store_);
  control_ = std::make_unique<ConnectionLifecycle>(LifecycleParts{
      .io = io_,
      .clock = clock_,
      .metrics = metrics_,
      .conns = conns_,
      .drivers = drivers_,
      .dispatcher = *dispatcher_,
      .gate = *gate_,
      .secrets = *secrets_,
      .vault = assembly_->vault(),
      .rows = *rows_,
  });
}

// Bound once the drivers can answer: a request waiting in the backlog is served when the loop
// runs. A port that cannot be bound or a TLS file that does not load stops the start.
void Runtime::start_listener() {
  if (!cfg_.listeners.inbound) {
    build_components();
    return;
  }
  const config::ListenerConfig& lc = *cfg_.listeners.inbound;
  routes_ = std::make_unique<net::RouteTable>();
  webhooks_ = std::make_unique<WebhookRoutes>(
      io_, *gate_, [this] { return assembly_->signing().taken(); }, metrics_, lc.durable_timeout);
  std::vector<std::string> routed;
  for (size_t i = 0; i < drivers_.size(); ++i)
    if (webhooks_->add(*routes_, drivers_[i])) routed.push_back(drivers_[i].name);
  build_components();
  net::ListenerOptions o;
  o.name = "inbound";
  o.address = lc.address;
  o.port = static_cast<uint16_t>(lc.port);
  o.tls_cert_file = lc.tls_cert_file;
  o.tls_key_file = lc.tls_key_file;
  o.max_body = lc.max_body;
  o.header_timeout = lc.header_timeout;
  o.body_timeout = lc.body_timeout;
  o.idle_timeout = lc.idle_timeout;
  o.max_connections = lc.max_connections;
  // A webhook answers within durable_timeout on its own; this only catches other routes.
  o.answer_timeout = std::max(lc.durable_timeout * 2, std::chrono::milliseconds(30'000));
  try {
    listener_ = std::make_unique<net::HttpListener>(io_, o, *routes_, metrics_);
    listener_->start();
  } catch (const std::exception& e) {
    throw StartupError(std::string(e.what()) + " (" + lc.position.file + ":" +
                       std::to_string(lc.position.line) + ")");
  }
  std::string names;
  for (auto& n : routed) names += (names.empty() ? "" : ", ") + n;
  spdlog::info("listening on {}:{} ({}), public URL {}; webhooks for: {}", lc.address,
               listener_->port(), listener_->tls() ? "https" : "http", lc.public_url,
               names.empty() ? "none" : names);
}

void Runtime::build_components() {
  if (opts_.components.empty()) return;
  if (!control_) throw StartupError("internal: components need the connection control");
  RuntimeContext ctx{.io = io_,
                     .cfg = cfg_,
                     .metrics = metrics_,
                     .clock = clock_,
                     .drivers = drivers_,
                     .connections = *control_,
                     .vault = assembly_->vault(),
                     .inbound_routes = routes_.get(),
                     .health = [this] { return health(); }};
  for (const ComponentFactory& make : opts_.components)
    if (auto c = make(ctx)) components_.push_back(std::move(c));
}

ConnectionControl& Runtime::connections() {
  return *control_;
}

uint16_t Runtime::listener_port() const {
  return listener_ ? listener_->port() : 0;
}

// ---------------------------------------------------------------------------------------------
// The loop
// ---------------------------------------------------------------------------------------------

int Runtime::run() {
  if (opts_.handle_signals) {
    signals_ = std::make_unique<boost::asio::signal_set>(io_, SIGINT, SIGTERM);
    wait_for_signal();
    hangups_ = std::make_unique<boost::asio::signal_set>(io_, SIGHUP);
    wait_for_hangup();
    // A stop asked for while we were starting (before the signal_set existed) still counts.
    if (int sig = early_stop_signal(); sig != 0) {
      spdlog::info("signal {} received while starting: stopping", sig);
      request_stop();
    }
    if (early_reload_requested()) request_reload();
  }
  if (opts_.duration.count() > 0) {
    duration_timer_.expires_after(opts_.duration);
    duration_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) request_stop();
    });
  }
  arm_periodic(stats_timer_, opts_.stats_interval, &Runtime::log_stats);
  write_status(true);
  arm_periodic(status_timer_, opts_.status_interval, &Runtime::write_running_status);
  // Sinks added by tests and benchmarks buffer; the outbox commits on its own.
  if (assembly_->has_extra_sinks())
    arm_periodic(flush_timer_, std::chrono::milliseconds(1000), &Runtime::flush_extra_sinks);
  dispatcher_->start();
  assembly_->start_delivery();

  int rc = 0;
  for (;;) {
    try {
      io_.run();  // returns once begin_shutdown() stopped it
      break;
    } catch (const std::exception& e) {
      // A bug, not an input problem: keep the data that is already built and stop cleanly.
      spdlog::critical("internal error on the event loop: {}; shutting down", e.what());
      rc = 1;
      stopping_ = false;
      begin_shutdown();  // stops the loop: the next run() returns at once (no restart() here,
                         // or the loop would run on, stopping_ set, and never reach the drain)
    }
  }
  drain_and_close();
  return rc;
}

void Runtime::wait_for_signal() {
  signals_->async_wait([this](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    ++signals_seen_;
    spdlog::info("signal {} received: stopping{}", sig,
                 signals_seen_ > 1 ? " now (second signal: not waiting for in-flight polls)" : "");
    request_stop();
    wait_for_signal();
  });
}

void Runtime::request_stop() {
  if (stop_requested_.exchange(true)) {
    if (signals_seen_ > 1) boost::asio::post(io_, [this] { io_.stop(); });
    return;
  }
  boost::asio::post(io_, [this] { begin_shutdown(); });
}

void Runtime::arm_periodic(boost::asio::steady_timer& t, std::chrono::milliseconds every,
                           void (Runtime::*fn)()) {
  if (every.count() <= 0) return;
  t.expires_after(every);
  t.async_wait([this, &t, every, fn](const boost::system::error_code& ec) {
    if (ec || stopping_) return;
    (this->*fn)();
    arm_periodic(t, every, fn);
  });
}

void Runtime::flush_extra_sinks() {
  assembly_->pipeline().flush();
}

// ---------------------------------------------------------------------------------------------
// Shutdown
// ---------------------------------------------------------------------------------------------

// A full disk (or a signer gone) must not make the daemon unstoppable: what could not be made
// durable in time is given up, which is safe because the DurabilityGate never completed the polls
// it came from. Says so, with counts, so an operator knows nothing was lost.
namespace {
void log_leftovers(const PipelineAssembly::Leftovers& left, size_t polls,
                   std::chrono::milliseconds budget) {
  if (!left.any()) return;
  std::string what;
  if (left.outbox.records > 0)
    what = std::to_string(left.outbox.records) + " events not committed (outbox: " +
           (left.outbox.error.empty() ? std::string("no commit finished in time")
                                      : left.outbox.error) +
           ")";
  if (left.batches_unsigned > 0)
    what += (what.empty() ? "" : " and ") + std::to_string(left.batches_unsigned) +
            " batches not signed";
  // A poll's events count only once durable, so its poll is repeated. A driver's stream was told
  // its readings were taken when it emitted them; since emit answers RETRY while commits fail
  // (Pipeline::admits), only what streams emitted before the first failed commit is at stake.
  spdlog::warn(
      "stopping with {} after {} ms: those of the {} polls never completed will be polled "
      "again; streams were refused (and kept their readings) while commits failed, so only "
      "readings they emitted just before the first failure are lost",
      what, budget.count(), polls);
}
}  // namespace

void Runtime::begin_shutdown() {
  if (stopping_) return;
  stopping_ = true;
  shutdown_deadline_ = Clock::now() + cfg_.schedule.shutdown_timeout;
  if (opts_.on_stopping) opts_.on_stopping();
  spdlog::info("stopping: no new polls; waiting up to {} ms for {} in flight",
               cfg_.schedule.shutdown_timeout.count(), dispatcher_->in_flight());
  dispatcher_->stop_scheduling();
  // The front door closes first; webhooks still waiting are answered 503 so senders retry, and
  // no driver's webhook() is called from here on.
  if (listener_) listener_->stop_accepting();
  if (webhooks_) webhooks_->close();
  if (hangups_) hangups_->cancel();
  for (auto& c : components_) c->stop_accepting();
  if (control_) control_->stop_accepting();
  stats_timer_.cancel();
  flush_timer_.cancel();
  duration_timer_.cancel();
  status_timer_.cancel();
  retire_timer_.cancel();  // what is still retiring is closed with everything else
  io_.stop();
}

void Runtime::drain_and_close() {
  // Streams stop first: after stream_stop returns, the driver will not call `ended`.
  dispatcher_->stop_streams();
  // Let in-flight polls finish, bounded by shutdown_timeout (a second signal cuts it short).
  auto in_flight = [this] {
    size_t n = 0;
    for (size_t k : dispatcher_->outstanding_by_driver()) n += k;
    return n;
  };
  const auto deadline = shutdown_deadline_;
  auto guard = boost::asio::make_work_guard(io_);  // run_for waits instead of spinning
  io_.restart();
  // The 503s given at begin_shutdown are written while the loop runs here.
  auto answering = [this] {
    size_t n = listener_ ? listener_->answering() : 0;
    for (auto& c : components_) n += c->answering();
    if (control_) n += control_->pending();  // adds, pauses, revocations under way
    return n;
  };
  while ((in_flight() > 0 || answering() > 0) && Clock::now() < deadline && signals_seen_ < 2) {
    io_.run_for(std::chrono::milliseconds(20));
    io_.restart();
  }
  guard.reset();
  close_everything(in_flight() > 0);
  log_stats();
  spdlog::info("stopped");
}

void Runtime::close_everything(bool abandoned_any) {
  closed_ = true;
  std::vector<size_t> busy =
      dispatcher_ ? dispatcher_->outstanding_by_driver() : std::vector<size_t>(drivers_.size());
  if (abandoned_any) {
    for (size_t i = 0; i < drivers_.size(); ++i)
      if (busy[i])
        spdlog::warn(
            "shutdown: driver {} still has {} polls in flight after {} ms; it is not closed",
            drivers_[i].name, busy[i], cfg_.schedule.shutdown_timeout.count());
  }
  // Transport and timers next, so every driver callback fires before close/destroy. Once
  // closed, new timers and requests are refused, so this terminates.
  if (webhooks_) webhooks_->close();
  for (auto& c : components_) {
    c->stop_accepting();
    c->close();
  }
  if (listener_) {
    listener_->stop_accepting();
    listener_->close_all();
  }
  // Its worker finishes what it holds (store writes) before the store and the drivers go.
  if (control_) control_->close();
  if (services_) services_->close();
  if (http_) http_->shutdown();
  if (timers_) timers_->drain();

  for (uint32_t c = 0; c < conns_.size(); ++c) {
    DriverInstance& d = drivers_[conns_[c].instance];
    if (!busy[d.index]) conns_.close(c, d);
  }
  drivers_.destroy_idle(busy);
  // A driver kept busy is not destroyed, but the host it calls back into is going away.
  if (mqtt_) mqtt_->end_all();
  if (assembly_) {
    // A start that threw half way never began a shutdown: it gets the same budget from here.
    const auto deadline =
        stopping_ ? shutdown_deadline_ : Clock::now() + cfg_.schedule.shutdown_timeout;
    PipelineAssembly::Leftovers left = assembly_->drain_and_stop(deadline);
    log_leftovers(left, gate_ ? gate_->held() : 0, cfg_.schedule.shutdown_timeout);
    if (gate_) gate_->release_ready();
  }
  if (stopping_) write_status(false);
}

// ---------------------------------------------------------------------------------------------
// Reports
// ---------------------------------------------------------------------------------------------

// Table records less those a reload withdrew (their slots stay; a moved one has a new record).
size_t Runtime::live_connections() const {
  return conns_.size() - (control_ ? control_->withdrawn() : 0);
}

void Runtime::log_stats() {
  if (!dispatcher_ || !assembly_) return;
  host::log_stats({metrics_, *dispatcher_, *assembly_, live_connections()}, clock_.wall_ms());
}

void Runtime::write_status(bool running) {
  if (!dispatcher_ || !assembly_) return;
  if (!status_writer_)
    status_writer_ = std::make_unique<StatusWriter>(DataDir(cfg_.data_dir).status_json(), metrics_);
  StatusSnapshot s = status_snapshot({metrics_, *dispatcher_, *assembly_, live_connections()},
                                     running, clock_.wall_ms());
  s.reload = last_reload_;
  for (const config::DriverConfig& dc : cfg_.drivers) {
    const DriverInstance* d = drivers_.find(dc.name);
    if (!d) d = drivers_.latest(dc.name);  // quarantined while running: retired
    if (!d) continue;
    DriverSnapshot ds{.name = dc.name, .state = "loaded", .reason = {}};
    if (d->quarantined) {
      ds.state = "quarantined";
      ds.reason = d->quarantine_reason;
    } else if (d->skipped || !d->inst) {
      ds.state = "skipped";
      ds.reason = "on_load_error: skip (its library or its create failed: see the log)";
    }
    s.drivers.push_back(std::move(ds));
  }
  // The last snapshot, as the daemon stops, is written before run() returns; the periodic ones
  // are written off the loop.
  if (running)
    status_writer_->submit(std::move(s));
  else
    status_writer_->write_now(s);
}

}  // namespace oemlink::host
