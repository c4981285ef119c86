// Runtime: the host process's wiring. It loads the configured drivers, creates their instances,
// opens every connection, and drives polls and streams from one Asio event loop through the
// PollScheduler, the pipeline and the sinks. It also implements the host services of the C ABI
// (host_services.cpp) that drivers call back into.
//
// Threading: everything here runs on the loop thread (the thread calling run()), except the
// host services marked [any-thread] in driver.h, which hop onto the loop when they must.
#pragma once

#include "core/common/metrics.hpp"
#include "core/common/rate_limited_log.hpp"
#include "core/config/config.hpp"
#include "core/host/poll_tickets.hpp"
#include "core/net/http_client.hpp"
#include "core/pipeline/pipeline.hpp"
#include "core/pipeline/signing_stage.hpp"
#include "core/schedule/poll_scheduler.hpp"
#include "core/store/outbox_store.hpp"
#include "core/store/secret_store.hpp"
#include "core/uplink/uplink_dispatcher.hpp"
#include "core/vault/key_vault.hpp"

#include <oemlink/driver.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace oemlink::host {

class StartupError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct RuntimeOptions {
  std::vector<std::filesystem::path> plugin_dirs;  // empty: loader::default_plugin_dirs()
  uint64_t stop_after_polls = 0;                   // 0: until signalled
  std::chrono::milliseconds duration{0};           // 0: until signalled
  bool handle_signals = true;                      // SIGINT/SIGTERM stop gracefully
  std::chrono::milliseconds stats_interval{60'000};
  std::vector<pipeline::EventSink*> extra_sinks;  // tests and benchmarks add their own
  bool quiet_startup = false;                     // no per-connection logging at start
};

// What the host keeps per connection. The scheduler's slot with the same index holds the timing.
struct ConnectionRecord {
  std::string id;
  std::string vin;
  std::string identifiers_json;
  uint64_t vehicle_token_id = 0;
  uint64_t synthetic_token_id = 0;
  uint32_t key_child = 0;
  uint32_t instance = 0;
  void* driver_ctx = nullptr;
  bool open = false;
};

struct DriverInstance;

class Runtime {
 public:
  Runtime(config::Config cfg, RuntimeOptions options = {});
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  // Loads drivers, creates instances, opens connections. Throws StartupError (or
  // config::ConfigError for driver settings) naming the driver, file or connection at fault.
  void start();

  // Runs the event loop until a stop is requested, then shuts down gracefully: stop scheduling,
  // let in-flight polls finish within schedule.shutdown_timeout, close, flush. Returns the
  // process exit code (0 on a clean stop).
  int run();

  // [any-thread] Ask the loop to stop (what SIGINT/SIGTERM do).
  void request_stop();

  MetricsRegistry& metrics() { return metrics_; }
  const schedule::ScheduleStats& schedule_stats() const { return sched_.stats(); }
  size_t connection_count() const { return conns_.size(); }
  const ConnectionRecord& connection(uint32_t i) const { return conns_[i]; }
  schedule::Phase connection_phase(uint32_t i) const { return sched_.phase(i); }
  boost::asio::io_context& io() { return io_; }
  // [loop] Per-sink latency histograms start afresh.
  void reset_sink_latency() {
    for (auto& d : dispatchers_) d->reset_latency();
  }
  // [loop, or after run() returned] Per-sink delivery figures.
  std::vector<std::pair<std::string, uplink::DispatcherStats>> sink_stats() const {
    std::vector<std::pair<std::string, uplink::DispatcherStats>> out;
    for (auto& d : dispatchers_) out.emplace_back(std::string(d->name()), d->stats());
    return out;
  }

  // ---- host services, reached through the C table (host_services.cpp) ----
  void svc_log(DriverInstance& d, oemlink_conn* conn, oemlink_log_level level,
               std::string_view msg);
  oemlink_status svc_emit(DriverInstance& d, oemlink_conn* conn, const oemlink_reading* readings,
                          size_t count);
  void svc_report_state(DriverInstance& d, oemlink_conn* conn, oemlink_conn_state state,
                        int64_t until_ms, std::string_view reason);
  oemlink_status svc_http(DriverInstance& d, oemlink_conn* conn, const oemlink_http_request* req,
                          oemlink_http_done_fn done, void* ctx);
  oemlink_status svc_secret_get(DriverInstance& d, oemlink_conn* conn, std::string_view key,
                                char* buf, size_t cap, size_t* size);
  oemlink_status svc_secret_put(DriverInstance& d, oemlink_conn* conn, const oemlink_str* keys,
                                const oemlink_str* values, size_t count);
  uint64_t svc_timer_start(DriverInstance& d, uint32_t delay_ms, oemlink_timer_fn fn, void* ctx);
  void svc_timer_cancel(uint64_t id);
  void svc_counter_add(DriverInstance& d, std::string_view name, uint64_t delta);
  int64_t now_ms() const;

  // ---- completions, reached through tickets ----
  void on_poll_done(TicketRef ref, oemlink_status status, std::string_view message);
  void on_stream_ended(TicketRef ref, oemlink_status status, std::string_view message);

 private:
  void open_outbox_and_sinks();
  void on_durable(uint64_t seq);
  void on_settled(uint32_t c, uint64_t receipt);
  void release_parked();
  void try_release(uint32_t c);
  bool completion_may_wait(uint32_t c) const;
  void apply_completion(uint32_t c, oemlink_status status, const std::string& message);
  void load_drivers();
  void open_connections();
  void dispatch();
  void schedule_dispatch();
  void arm_timer();
  void start_poll(schedule::ConnIndex c);
  void start_stream(schedule::ConnIndex c);
  void start_driver_stream(DriverInstance& d);
  void finish_poll(TicketRef ref, oemlink_status status, const std::string& message);
  void finish_stream(TicketRef ref, oemlink_status status, const std::string& message);
  Ticket* issue_ticket(uint32_t c, uint32_t instance, bool stream);
  void stop_stream(uint32_t c);
  std::vector<size_t> outstanding_by_driver();
  void close_everything(bool abandoned_any);
  uint32_t own_connection(DriverInstance& d, oemlink_conn* conn, const char* what);
  bool secret_owner(DriverInstance& d, oemlink_conn* conn, std::string& owner);
  int64_t sched_now() const;  // steady clock, ms: immune to wall-clock steps
  void apply_state(uint32_t c, oemlink_conn_state state, int64_t until_ms,
                   const std::string& reason);
  void wait_for_signal();
  void begin_shutdown();
  void drain_and_close();
  void log_stats();
  void arm_periodic(boost::asio::steady_timer& t, std::chrono::milliseconds every,
                    void (Runtime::*fn)());
  void flush_sinks();
  void sweep_hung_polls();
  void write_status(bool running);
  void write_running_status() { write_status(true); }
  bool on_loop() const { return std::this_thread::get_id() == loop_thread_; }
  uint32_t conn_index(oemlink_conn* conn) const;  // UINT32_MAX when invalid
  store::SecretStore* secrets();
  void note_slow_call(DriverInstance& d, const char* what, uint32_t c,
                      std::chrono::steady_clock::duration took);

  config::Config cfg_;
  RuntimeOptions opts_;
  boost::asio::io_context io_;
  std::thread::id loop_thread_;
  MetricsRegistry metrics_;
  std::vector<std::unique_ptr<DriverInstance>> drivers_;
  std::vector<ConnectionRecord> conns_;
  schedule::PollScheduler sched_;
  TicketPool tickets_;
  std::unique_ptr<net::CurlMultiClient> http_;
  std::unique_ptr<store::OutboxStore> outbox_;
  std::unique_ptr<pipeline::EventSink> outbox_sink_;
  std::vector<std::unique_ptr<uplink::UplinkDispatcher>> dispatchers_;
  // Per connection: the outbox sequence of its latest event (loop thread only).
  std::unique_ptr<uint64_t[]> durable_receipts_;
  uint64_t durable_seq_ = 0;
  struct ParkedCompletion {
    oemlink_status status;
    std::string message;
  };
  std::unordered_map<uint32_t, ParkedCompletion> parked_;  // by connection
  std::multimap<uint64_t, uint32_t> awaiting_durable_;     // receipt -> connection
  std::unique_ptr<vault::KeyVault> vault_;
  std::unique_ptr<pipeline::DataSigner> signer_;
  std::unique_ptr<pipeline::Pipeline> pipeline_;
  std::unique_ptr<pipeline::SigningStage> signing_;
  // Per connection: batches handed to the signing stage and not yet settled.
  std::unique_ptr<std::atomic<uint32_t>[]> signing_pending_;
  std::unique_ptr<store::SecretStore> secrets_;
  std::mutex secrets_mu_;

  boost::asio::steady_timer sched_timer_;
  int64_t armed_at_ = schedule::kNever;
  bool dispatch_posted_ = false;
  std::vector<schedule::ConnIndex> due_;

  boost::asio::steady_timer stats_timer_;
  boost::asio::steady_timer watchdog_timer_;
  boost::asio::steady_timer status_timer_;
  boost::asio::steady_timer flush_timer_;
  boost::asio::steady_timer duration_timer_;
  std::unique_ptr<boost::asio::signal_set> signals_;

  struct DriverTimer;
  std::map<uint64_t, std::unique_ptr<DriverTimer>> timers_;
  std::atomic<uint64_t> next_timer_id_{1};

  std::atomic<bool> stop_requested_{false};
  bool stopping_ = false;
  bool closed_ = false;  // transport, timers and drivers closed: new work is refused
  uint8_t slot_ = 0;     // this runtime's slot for ticket routing
  uint16_t passive_lane_ = 0;
  int signals_seen_ = 0;
  uint64_t polls_completed_ = 0;
  LogGate poll_log_;
  LogGate slow_log_;
  LogGate misuse_log_;

  Counter& polls_ok_;
  Counter& polls_retry_;
  Counter& polls_error_;
  Counter& slow_calls_;
  Counter& conns_open_failed_;
  Counter& conns_skipped_;
  Counter& stream_restarts_;
  Counter& late_completions_;
  Counter& hung_polls_;
};

}  // namespace oemlink::host
