// HostServices: what a driver's host table (host_table.cpp) calls into. Each method checks that
// a connection handle belongs to the calling driver, then hands the work to the part that owns
// it: emit → the signing stage (with the DurabilityGate counting the batch), report_state → the
// PollDispatcher, http → the HTTP client, secrets → SecretAccess, timers → DriverTimers,
// MQTT subscriptions → MqttSubscriptions.
//
// Failures look the same in every service: a counter (`oemlink_host_service_failures_total`), a
// rate-limited log line naming the driver and the service, and the status the ABI documents for
// that service (core/host/README.md lists them). The host table catches every exception and reports
// it here, so nothing ever unwinds into a driver.
//
// Threading: each method follows the thread rule of its ABI function in driver.h; those that
// must run on the loop hop onto it.
#pragma once

#include "core/common/metrics.hpp"
#include "core/common/rate_limited_log.hpp"
#include "core/host/connection_table.hpp"
#include "core/host/driver_counters.hpp"
#include "core/host/driver_set.hpp"
#include "core/host/driver_timers.hpp"
#include "core/host/durability_gate.hpp"
#include "core/host/host_clock.hpp"
#include "core/host/mqtt_subscriptions.hpp"
#include "core/host/poll_dispatcher.hpp"
#include "core/host/secret_access.hpp"
#include "core/net/clock_skew_estimator.hpp"
#include "core/net/http_client.hpp"
#include "core/pipeline/signing_stage.hpp"

#include <oemlink/driver.h>

#include <boost/asio/io_context.hpp>

#include <atomic>
#include <string_view>
#include <thread>

namespace oemlink::host {

struct ServiceParts {
  boost::asio::io_context& io;
  const HostClock& clock;
  MetricsRegistry& metrics;
  ConnectionTable& conns;
  PollDispatcher& dispatcher;
  DurabilityGate& gate;
  pipeline::SigningStage& signing;
  net::CurlMultiClient& http;
  SecretAccess& secrets;
  DriverTimers& timers;
  MqttSubscriptions* mqtt = nullptr;  // null: no oemlink.mqtt/1 service
  // Our wall clock's skew from true time, learnt from HTTPS Date headers; null: wall is trusted.
  const net::ClockSkewEstimator* clock_skew = nullptr;
};

// How long after the host last showed drivers a time (now_unix_ms) that late, that time still
// counts when a reading is judged "in the future" (shown_mark_ms). Readings a driver stamped from
// it while our clock was ahead, and that arrive after the clock was put right (a poll's HTTP
// answer, a retry after back-pressure), are taken for this long; after it the future check is no
// longer loosened by a clock error that is gone, whatever its size.
inline constexpr int64_t kShownMarkHoldMs = 10 * 60'000;

class HostServices {
 public:
  explicit HostServices(ServiceParts parts);

  void log(DriverInstance& d, oemlink_conn* conn, oemlink_log_level level, std::string_view msg);
  oemlink_status emit(DriverInstance& d, oemlink_conn* conn, const oemlink_reading* readings,
                      size_t count);
  void report_state(DriverInstance& d, oemlink_conn* conn, oemlink_conn_state state,
                    int64_t until_ms, std::string_view reason);
  oemlink_status http(DriverInstance& d, oemlink_conn* conn, const oemlink_http_request* req,
                      oemlink_http_done_fn done, void* ctx);
  oemlink_status secret_get(DriverInstance& d, oemlink_conn* conn, std::string_view key, char* buf,
                            size_t cap, size_t* size);
  oemlink_status secret_put(DriverInstance& d, oemlink_conn* conn, const oemlink_str* keys,
                            const oemlink_str* values, size_t count);
  uint64_t timer_start(DriverInstance& d, uint32_t delay_ms, oemlink_timer_fn fn, void* ctx);
  void timer_cancel(DriverInstance& d, uint64_t id);
  void counter_add(DriverInstance& d, std::string_view name, uint64_t delta);
  bool has_mqtt() const { return parts_.mqtt != nullptr; }
  uint64_t mqtt_subscribe(DriverInstance& d, const oemlink_mqtt_subscription* sub,
                          oemlink_mqtt_message_fn on_message, oemlink_mqtt_status_fn on_status,
                          void* ctx);
  void mqtt_unsubscribe(DriverInstance& d, uint64_t id);
  // Ends what `d` still has open (before its destroy, or when its create failed).
  void end_subscriptions(const DriverInstance& d);
  // [any-thread] What drivers are told the time is (now_unix_ms): true time by the skew estimate,
  // so readings they stamp themselves are right even while our wall clock is stepped.
  // Also the host's high-water mark of time shown to drivers (see emit()).
  int64_t now_ms() const;
  // [any-thread] The latest time ever shown to drivers, while it was last reached within
  // kShownMarkHoldMs on the steady clock; 0 once it was not (it no longer vouches for readings).
  int64_t shown_mark_ms() const;

  // [any-thread] A service failed for driver `d`: counted and logged (rate-limited). `why` must
  // name no secret value.
  void failed(const DriverInstance& d, const char* service, std::string_view why);

  // The inbound listener's public base URL, without a trailing '/'; empty: no listener. Set
  // before the drivers are created (they may ask in create()).
  void set_public_url(std::string url) { public_url_ = std::move(url); }
  // [any-thread] Where senders reach d's webhooks: public_url + "/webhooks/<driver name>"; empty
  // when there is no listener or d declares no webhook (oemlink.webhook-url/1 is then absent).
  std::string webhook_url(const DriverInstance& d) const;

  // [loop] Shutdown: no new HTTP requests, timers or MQTT subscriptions from here on.
  void close() { closed_ = true; }

 private:
  bool on_loop() const { return std::this_thread::get_id() == loop_thread_; }
  // The connection index when `conn` is an open connection of `d`; otherwise counts, logs and
  // returns kNoConn.
  uint32_t own_connection(const DriverInstance& d, oemlink_conn* conn, const char* service);
  // The secret namespace of `conn` (or of the driver when conn is NULL); empty when refused.
  // `legacy` is set to the connection's pre-upgrade namespace, to migrate from.
  std::string secret_owner(const DriverInstance& d, oemlink_conn* conn, std::string& legacy);

  ServiceParts parts_;
  // The latest now_ms() ever answered: a reading a driver stamped from it is never judged "in the
  // future" for our clock's sake, even after the clock was put right.
  mutable std::atomic<int64_t> shown_high_water_ms_{0};
  mutable std::atomic<int64_t> shown_raised_steady_ms_{0};  // steady ms it last went up
  std::thread::id loop_thread_ = std::this_thread::get_id();
  std::atomic<bool> closed_{false};
  std::string public_url_;  // written before any driver exists, then only read
  Counter& bad_handles_;
  Counter& failures_;
  Counter& readings_rejected_;
  Counter& driver_log_suppressed_;
  Counter& log_suppressed_;
  LogGate misuse_log_{10, &log_suppressed_};
  LogGate failure_log_{10, &log_suppressed_};
  DriverCounters driver_counters_;
};

}  // namespace oemlink::host
