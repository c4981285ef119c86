// Runtime: the order in which the host starts, runs and stops. Each job lives in its own part:
//   PipelineAssembly  vault, outbox, pipeline, signing stage, sink dispatchers
//   DriverSet         driver libraries and instances (and what outlives a busy driver)
//   ConnectionStore   every connection, durable (<data_dir>/connections.db); the YAML is
//                     reconciled into it and the table loaded from it (runtime_connections.cpp)
//   ConnectionTable   connections, their handles, key-child claims, open/close
//   PollDispatcher    schedule → polls and streams, tickets, states, watchdog
//   DurabilityGate    poll completions held until their events are durable
//   HostServices      the C host table's services (with DriverTimers and SecretAccess)
//   HttpListener      the inbound HTTP front door (listeners.inbound), its RouteTable, and
//   WebhookRoutes     POST /webhooks/<driver> with the durability hold
//   runtime_report    stats lines and status.json
//   runtime_reload    SIGHUP: the config re-read, validated, and its live parts applied
// Runtime builds them in that order on one Asio event loop, runs the loop until a signal, a
// duration or a poll count says stop, then shuts down gracefully: no new polls, in-flight polls
// get schedule.shutdown_timeout, drivers are closed, and everything accepted is made durable.
//
// Threading: the thread that calls start() and run() is the loop thread; request_stop() may be
// called from any thread.
#pragma once

#include "core/common/metrics.hpp"
#include "core/config/config.hpp"
#include "core/host/connection_table.hpp"
#include "core/host/driver_set.hpp"
#include "core/host/host_clock.hpp"
#include "core/host/hung_poll_budget.hpp"
#include "core/host/runtime_component.hpp"
#include "core/host/runtime_health.hpp"
#include "core/host/status_snapshot.hpp"
#include "core/net/clock_skew_estimator.hpp"
#include "core/pipeline/event_sink.hpp"
#include "core/schedule/poll_scheduler.hpp"
#include "core/uplink/sink_registry.hpp"
#include "core/uplink/uplink_dispatcher.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace oemlink::store {
class ConnectionStore;
}

namespace oemlink::net {
class CurlMultiClient;
class HttpListener;
class RouteTable;
}  // namespace oemlink::net

namespace oemlink::host {

class DataDirLock;
class PipelineAssembly;
class PollDispatcher;
class DurabilityGate;
class DriverTimers;
class SecretAccess;
class MqttSubscriptions;
class HostServices;
class StatusWriter;
class WebhookRoutes;
class ConnectionControl;
class ConnectionLifecycle;
class ConnectionRows;
class DriverQuarantine;
struct ReloadPlan;

struct RuntimeOptions {
  std::vector<std::filesystem::path> plugin_dirs;  // empty: loader::default_plugin_dirs()
  // The sink types this executable can build; main fills it (uplink::register_builtin_sinks).
  uplink::SinkRegistry sinks;
  uint64_t stop_after_polls = 0;          // 0: until signalled
  std::chrono::milliseconds duration{0};  // 0: until signalled
  bool handle_signals = true;             // SIGINT/SIGTERM stop gracefully
  std::chrono::milliseconds stats_interval{60'000};
  std::chrono::milliseconds status_interval{2'000};
  std::vector<pipeline::EventSink*> extra_sinks;  // tests and benchmarks add their own
  bool quiet_startup = false;                     // no per-connection logging at start
  const HostClock* clock = nullptr;               // null: the system clock
  // Built in order once the connections are open, before the listeners accept (the linking
  // flow, the admin API: see runtime_component.hpp). `oemlink run` adds them.
  std::vector<ComponentFactory> components;
  // [loop] Called once when shutdown begins (a signal, a duration, a poll limit), before
  // anything closes: `oemlink run` tells systemd STOPPING=1 here.
  std::function<void()> on_stopping;
  // What a reload (SIGHUP) reads: `oemlink run` passes the load check-config makes of the file
  // it was started with. Null: config::load_config_file(the running config's source).
  std::function<config::Config()> reload_config;
};

// RuntimeOptions with the built-in sink types registered: what `oemlink run` uses.
RuntimeOptions default_runtime_options();

class Runtime {
 public:
  Runtime(config::Config cfg, RuntimeOptions options = default_runtime_options());
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  // Checks the drivers (the same checks as check-config) before anything opens, locks the data
  // dir (a second daemon on it is refused, naming the holder's pid), opens the connection store
  // and reconciles the YAML into it, then builds the event path, creates the drivers and opens
  // every stored connection that is active or needs re-authentication. Throws StartupError naming
  // the driver, file, sink or connection at fault.
  void start();

  // Runs the event loop until a stop is requested, then shuts down gracefully. Returns the
  // process exit code (0 on a clean stop).
  int run();

  // [any-thread] Ask the loop to stop (what SIGINT/SIGTERM do).
  void request_stop();

  // [any-thread] Ask the loop to reload the configuration (what SIGHUP does). Requests that
  // arrive while one is waiting to run are coalesced into it; one that arrives while a reload
  // runs is served after it (reading the file again).
  void request_reload();
  // [loop] Re-reads the configuration (RuntimeOptions::reload_config), validates it as
  // check-config does (load + check_drivers), and refuses it whole, naming every setting that
  // cannot change live (reload_plan.hpp); otherwise applies connections (reconciled into the
  // store, then withdrawn, changed or served), sinks and logging.level. Logs one summary line,
  // counts reloads_ok / reloads_refused / reloads_failed, and records the outcome for
  // status.json (written at once). See runtime_reload.cpp.
  void reload();
  // [loop] The last reload's outcome; nullopt before the first.
  const std::optional<ReloadSnapshot>& last_reload() const { return last_reload_; }

  MetricsRegistry& metrics() { return metrics_; }
  const schedule::ScheduleStats& schedule_stats() const;
  size_t connection_count() const { return conns_.size(); }
  const ConnectionRecord& connection(uint32_t i) const { return conns_[i]; }
  schedule::Phase connection_phase(uint32_t i) const;
  boost::asio::io_context& io() { return io_; }
  // The inbound listener's routes, for more routes (linking, operations); null without
  // listeners.inbound. [loop] after start().
  net::RouteTable* routes() { return routes_.get(); }
  // [loop] after start(): the connections' live control (add, pause, revoke, ...).
  ConnectionControl& connections();
  // After start(): <data_dir>/connections.db, open for the life of the Runtime. Every connection
  // the table holds is a row of it (the YAML's reconciled in at start).
  store::ConnectionStore& connection_store() { return *store_; }
  // The inbound listener's bound port; 0 without one.
  uint16_t listener_port() const;
  // [loop] Per-sink latency histograms start afresh.
  void reset_sink_latency();
  // [loop, or after run() returned] Per-sink delivery figures.
  std::vector<std::pair<std::string, uplink::DispatcherStats>> sink_stats() const;
  // [loop] What readiness is decided from (runtime_health.hpp); components get it through
  // RuntimeContext::health.
  RuntimeHealth health() const;

 private:
  // runtime_connections.cpp: opens the store and reconciles the YAML into it; returns how many
  // rows are not revoked (the table's size, give or take rows of unknown drivers).
  size_t open_connection_store();
  // Loads every row that is not revoked into the table and the scheduler, claims their key
  // children, and opens those to be served.
  void open_connections();
  void open_connection_control();
  void start_listener();
  void build_components();
  void wait_for_signal();
  void wait_for_hangup();
  // runtime_reload.cpp: the steps of reload().
  std::vector<std::string> read_for_reload(config::Config& next, DriverCheckReport& checked);
  bool serve_stored(const std::string& id, const char* what);
  // Withdraws connection `id` for good (its row left, or its driver did); one re-added while it
  // is still busy is served once it is idle.
  void withdraw_leaving(const std::string& id);
  std::vector<std::string> revive_cleared(const config::Config& next, ReloadPlan& plan,
                                          DriverCheckReport& checked);
  // Withdraws connection `id` and serves it again from its row once its old record is idle.
  void withdraw_and_serve_again(const std::string& id, const char* what);
  // runtime_drivers.cpp: a reload's drivers. Creates the added and changed ones (before anything
  // applies; on a failure it lets go of what it created and returns the error).
  std::vector<std::string> create_reloaded_drivers(const ReloadPlan& plan,
                                                   const DriverCheckReport& checked,
                                                   std::vector<DriverInstance*>& created);
  // A refused reload lets go of the instances it created.
  void let_go_of(std::vector<DriverInstance*>& created);
  // Retires the replaced and removed instances and puts the created ones in service (lanes,
  // webhook routes, components). Returns the retired ones.
  std::vector<DriverInstance*> swap_drivers(const ReloadPlan& plan,
                                            const std::vector<DriverInstance*>& created);
  // Moves the retired instances' connections: to the new instance of a changed driver, off for
  // a removed one. Rows of added drivers not yet served (linked under an earlier configuration)
  // are served. Counts as stopped the cars of a removed driver and those of a changed driver
  // whose new instance was skipped (on_load_error: skip): nothing serves them now.
  struct MovedConnections {
    size_t moved = 0;
    size_t stopped = 0;
  };
  MovedConnections move_connections(const ReloadPlan& plan,
                                    const std::vector<DriverInstance*>& retired,
                                    const std::set<std::string, std::less<>>& handled);
  // [loop] Destroys each retired instance once idle (its connections closed, polls done,
  // callbacks delivered, no lease held); re-arms itself while any is left.
  void retire_when_idle(DriverInstance& d);
  // True while an instance of that name a reload retired still has a connection not yet moved
  // (its poll in flight unsettled).
  bool still_moving(std::string_view name) const;
  void check_retiring();
  // Marks the checks of quarantined drivers (driver_quarantine.hpp) so they are not created;
  // returns the names of the configured drivers that are quarantined.
  std::set<std::string, std::less<>> apply_quarantine(DriverCheckReport& checked,
                                                      const config::QuarantineConfig& policy);
  // The watchdog gave up on a poll of instance `index`: counted against the hung-poll budget.
  void on_hung_poll(uint32_t index);
  // Lets go of a running driver that keeps failing: recorded, retired, its connections stop.
  void quarantine_live(DriverInstance& d, const std::string& reason);
  void finish_reload(ReloadSnapshot r);
  void begin_shutdown();
  void drain_and_close();
  void close_everything(bool abandoned_any);
  void arm_periodic(boost::asio::steady_timer& t, std::chrono::milliseconds every,
                    void (Runtime::*fn)());
  void log_stats();
  void register_clock_skew_metric();
  size_t live_connections() const;
  void write_status(bool running);
  void write_running_status() { write_status(true); }
  void flush_extra_sinks();

  config::Config cfg_;
  RuntimeOptions opts_;
  std::unique_ptr<DataDirLock> lock_;  // held from start() to destruction: one daemon per dir
  // Opened under the lock; outlives everything that may write to it (control_, components_).
  std::unique_ptr<store::ConnectionStore> store_;
  const HostClock& clock_;
  boost::asio::io_context io_;
  MetricsRegistry metrics_;
  CollectorRegistration process_metrics_;  // process_* from /proc, refreshed when scraped
  // Fed by every HTTPS answer (the host's client, dimo_https sinks); outlives both.
  net::ClockSkewEstimator clock_skew_;
  CollectorRegistration clock_skew_metric_;  // oemlink_clock_skew_seconds
  // Declared in build order; destroyed in reverse.
  std::unique_ptr<net::CurlMultiClient> http_;
  std::unique_ptr<PipelineAssembly> assembly_;
  ConnectionTable conns_;
  DriverSet drivers_;
  std::unique_ptr<PollDispatcher> dispatcher_;
  std::unique_ptr<DurabilityGate> gate_;
  std::unique_ptr<DriverTimers> timers_;
  std::unique_ptr<SecretAccess> secrets_;
  std::unique_ptr<MqttSubscriptions> mqtt_;
  std::unique_ptr<HostServices> services_;
  std::unique_ptr<StatusWriter> status_writer_;
  // Handlers in routes_ call webhooks_; the listener calls routes_: destroyed listener first.
  std::unique_ptr<WebhookRoutes> webhooks_;
  std::unique_ptr<net::RouteTable> routes_;
  std::unique_ptr<net::HttpListener> listener_;
  // The lifecycle's view of the connection store; control_ exists when it does.
  std::unique_ptr<ConnectionRows> rows_;
  std::unique_ptr<ConnectionLifecycle> control_;
  // After the listener: a component's routes may call into it until it is closed.
  std::vector<std::unique_ptr<RuntimeComponent>> components_;

  boost::asio::steady_timer stats_timer_;
  boost::asio::steady_timer status_timer_;
  boost::asio::steady_timer flush_timer_;
  boost::asio::steady_timer duration_timer_;
  boost::asio::steady_timer retire_timer_;
  // Driver instances a reload replaced or removed, until destroyed (runtime_drivers.cpp).
  struct Retiring {
    DriverInstance* d = nullptr;
    int64_t since_ms = 0;  // steady
    bool moved = false;    // every record's poll settled: its car is served by the new one
    bool drained = false;  // its connections closed and polls done
    bool warned = false;
  };
  std::vector<Retiring> retiring_;
  std::unique_ptr<DriverQuarantine> quarantine_;  // the data dir's driver-fault log
  HungPollBudget hung_budget_{0, 1};
  std::unique_ptr<boost::asio::signal_set> signals_;
  std::unique_ptr<boost::asio::signal_set> hangups_;  // SIGHUP: reload

  std::atomic<bool> stop_requested_{false};
  bool stopping_ = false;
  // begin_shutdown + schedule.shutdown_timeout: every wait of the shutdown ends by then.
  std::chrono::steady_clock::time_point shutdown_deadline_{};
  bool closed_ = false;   // transport, timers and drivers closed: new work is refused
  bool started_ = false;  // start() completed
  int64_t started_steady_ms_ = 0;
  int signals_seen_ = 0;
  std::atomic<bool> reload_pending_{false};
  uint64_t reloads_ = 0;
  std::optional<ReloadSnapshot> last_reload_;
  // Changed YAML connections whose old record is still finishing its poll: served (from the
  // store's row as it is then) once it has; a later reload leaves them to that.
  std::set<std::string, std::less<>> awaiting_serve_;
  // Connections a reload removed whose old record still has work in flight: one re-added
  // meanwhile waits in awaiting_serve_ until the old record is idle (never two open handles).
  std::set<std::string, std::less<>> closing_;
  Counter& conns_open_failed_;
  Counter& conns_skipped_;
};

}  // namespace oemlink::host
