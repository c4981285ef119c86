#include "core/host/host_services.hpp"
#include "core/common/abi_text.hpp"
#include "core/pipeline/reading_validator.hpp"

#include "core/host/driver_call_frame.hpp"

#include "core/host/webhook_routes.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>

#include <cstddef>
#include <cstring>
#include <vector>

namespace oemlink::host {
namespace {

spdlog::level::level_enum spdlog_level(oemlink_log_level level) {
  return level <= OEMLINK_LOG_TRACE   ? spdlog::level::trace
         : level == OEMLINK_LOG_DEBUG ? spdlog::level::debug
         : level == OEMLINK_LOG_INFO  ? spdlog::level::info
         : level == OEMLINK_LOG_WARN  ? spdlog::level::warn
                                      : spdlog::level::err;
}

}  // namespace

int64_t HostServices::now_ms() const {
  const int64_t wall = parts_.clock.wall_ms();
  const int64_t now = parts_.clock_skew ? parts_.clock_skew->corrected_ms(
                                              wall, net::ClockSkewEstimator::steady_now_ms())
                                        : wall;
  int64_t seen = shown_high_water_ms_.load(std::memory_order_relaxed);
  while (now > seen) {
    if (shown_high_water_ms_.compare_exchange_weak(seen, now)) {
      shown_raised_steady_ms_.store(parts_.clock.steady_ms(), std::memory_order_relaxed);
      break;
    }
  }
  return now;
}

int64_t HostServices::shown_mark_ms() const {
  const int64_t raised = shown_raised_steady_ms_.load(std::memory_order_relaxed);
  if (parts_.clock.steady_ms() - raised > kShownMarkHoldMs) return 0;
  return shown_high_water_ms_.load(std::memory_order_relaxed);
}

HostServices::HostServices(ServiceParts parts)
    : parts_(parts),
      bad_handles_(parts.metrics.counter(
          "oemlink_driver_bad_handles_total",
          "Host calls naming a connection handle that is not the calling driver's")),
      failures_(parts.metrics.counter("oemlink_host_service_failures_total",
                                      "Host service calls from drivers that failed")),
      readings_rejected_(parts.metrics.counter(
          "oemlink_pipeline_readings_rejected_total",
          "Readings refused by validation (unknown signal, bad value or time)")),
      driver_log_suppressed_(parts.metrics.counter("oemlink_driver_log_lines_suppressed_total",
                                                   "Driver log lines dropped by the rate limit")),
      log_suppressed_(parts.metrics.counter(kLogLinesSuppressed, kLogLinesSuppressedHelp)),
      driver_counters_(parts.metrics) {}

void HostServices::failed(const DriverInstance& d, const char* service, std::string_view why) {
  failures_.add();
  failure_log_.log(parts_.clock.wall_ms(), spdlog::level::err, LogFields{.driver = d.name},
                   "driver {}: {} failed: {}", d.name, service, why);
}

uint32_t HostServices::own_connection(const DriverInstance& d, oemlink_conn* conn,
                                      const char* service) {
  uint32_t c = parts_.conns.owned_by(conn, d.index);
  if (c != kNoConn) return c;
  bad_handles_.add();
  misuse_log_.log(parts_.clock.wall_ms(), spdlog::level::err, LogFields{.driver = d.name},
                  "driver {}: {} for an unknown or closed connection handle", d.name, service);
  return kNoConn;
}

void HostServices::log(DriverInstance& d, oemlink_conn* conn, oemlink_log_level level,
                       std::string_view msg) {
  auto lvl = spdlog_level(level);
  if (!spdlog::should_log(lvl)) return;
  uint64_t suppressed = 0;
  if (!d.log_gate.allow(parts_.clock.wall_ms(), suppressed)) {
    driver_log_suppressed_.add();
    log_suppressed_.add();
    return;
  }
  // A driver's line names its driver and connection whichever thread it comes from (an HTTP
  // completion, a timer, the MQTT thread); the message itself is redacted by the formatter.
  uint32_t c = parts_.conns.index_of(conn);
  const std::string_view conn_id = c == kNoConn ? std::string_view() : parts_.conns[c].id;
  LogScope line(LogFields{.driver = d.name, .connection = conn_id}, suppressed);
  if (c == kNoConn)
    spdlog::log(lvl, "[{}] {}", d.name, msg);
  else
    spdlog::log(lvl, "[{}] connection {}: {}", d.name, conn_id, msg);
}

oemlink_status HostServices::emit(DriverInstance& d, oemlink_conn* conn,
                                  const oemlink_reading* readings, size_t count) {
  uint32_t c = own_connection(d, conn, "emit");
  if (c == kNoConn) {
    readings_rejected_.add(count);
    return OEMLINK_ERROR;
  }
  if (count == 0) return OEMLINK_OK;
  if (!readings) return OEMLINK_ERROR;
  LogScope about(LogFields{.driver = d.name, .connection = parts_.conns[c].id});
  // The array's stride is the driver's struct size: a driver built against a newer minor ABI
  // may have appended fields. Copy each into the host's layout.
  size_t stride = readings[0].struct_size;
  constexpr size_t kV1Size = offsetof(oemlink_reading, hdop) + sizeof(double);
  if (stride < kV1Size) {
    readings_rejected_.add(count);
    failed(
        d, "emit",
        fmt::format("reading struct_size {} < {}; {} readings rejected", stride, kV1Size, count));
    return OEMLINK_ERROR;
  }
  std::span<const oemlink_reading> batch(readings, count);
  std::vector<oemlink_reading> copied;
  if (stride != sizeof(oemlink_reading)) {
    copied.resize(count);
    auto* base = reinterpret_cast<const unsigned char*>(readings);
    for (size_t i = 0; i < count; ++i) {
      std::memcpy(&copied[i], base + i * stride, std::min(stride, sizeof(oemlink_reading)));
      copied[i].struct_size = sizeof(oemlink_reading);
    }
    batch = copied;
  }
  const ConnectionRecord& r = parts_.conns[c];
  pipeline::ConnectionIdentity id{.id = r.id,
                                  .vin = r.vin,
                                  .vehicle_token_id = r.vehicle_token_id,
                                  .synthetic_token_id = r.synthetic_token_id,
                                  .key_child = r.key_child};
  parts_.gate.batch_submitted(c);
  pipeline::SigningStage::Submitted submitted;
  try {
    // "In the future" is judged against the latest of our wall clock, true time and the time
    // recently shown to drivers: a reading is refused only when it is ahead of all of them, never
    // because our own clock is (or was, a moment ago) wrong. Event times are bounded by true time.
    const int64_t truth = now_ms();
    submitted = parts_.signing.submit(
        c, id, batch, truth,
        pipeline::future_reference_ms(parts_.clock.wall_ms(), truth, shown_mark_ms()));
  } catch (...) {
    parts_.gate.batch_refused(c);
    throw;
  }
  if (!submitted.queued) parts_.gate.batch_refused(c);
  return submitted.status;
}

void HostServices::report_state(DriverInstance& d, oemlink_conn* conn, oemlink_conn_state state,
                                int64_t until_ms, std::string_view reason) {
  auto apply = [this, &d, conn, state, until_ms](const std::string& why) {
    uint32_t c = own_connection(d, conn, "report_state");
    if (c != kNoConn) parts_.dispatcher.apply_state(c, state, until_ms, why);
  };
  if (on_loop()) {
    apply(std::string(reason));
    return;
  }
  boost::asio::post(parts_.io, [apply, why = std::string(reason)] { apply(why); });
}

oemlink_status HostServices::http(DriverInstance& d, oemlink_conn* conn,
                                  const oemlink_http_request* req, oemlink_http_done_fn done,
                                  void* ctx) {
  constexpr size_t kV1Size = offsetof(oemlink_http_request, timeout_ms) + sizeof(uint32_t);
  if (!req || !done || req->struct_size < kV1Size || abi_view(req->url).empty() ||
      abi_view(req->method).empty() || (req->header_count && !req->headers)) {
    failed(d, "http_request",
           "malformed request (struct_size, url, method, headers or callback missing)");
    return OEMLINK_ERROR;
  }
  if (closed_) return OEMLINK_ERROR;  // shutting down: nothing new may start
  if (d.draining) {
    failed(d, "http_request", "the driver was removed or changed by a reload");
    return OEMLINK_ERROR;
  }
  if (conn && own_connection(d, conn, "http_request") == kNoConn) return OEMLINK_ERROR;
  net::HttpRequest r;
  r.method = std::string(abi_view(req->method));
  r.url = std::string(abi_view(req->url));
  for (size_t i = 0; i < req->header_count; ++i)
    r.headers.emplace_back(std::string(abi_view(req->headers[i].name)),
                           std::string(abi_view(req->headers[i].value)));
  r.body = std::string(abi_view(req->body));
  r.timeout = std::chrono::milliseconds(req->timeout_ms);
  parts_.metrics
      .counter("oemlink_driver_http_requests_total", "HTTP requests drivers made through the host",
               {{"driver", d.name}})
      .add();
  // The driver's completion runs outside any poll: it is given the driver's (and the
  // connection's) fields itself. Both names outlive the request (records never move).
  const std::string* driver = &d.name;
  const std::string* conn_id = nullptr;
  if (conn) conn_id = &parts_.conns[parts_.conns.index_of(conn)].id;
  // Owed until `done` has returned: a reload destroys a retired instance only at zero.
  DriverInstance* owner = &d;
  owner->callbacks_pending.fetch_add(1);
  parts_.http.request(std::move(r), [done, ctx, driver, conn_id, owner](net::HttpResponse&& resp) {
    struct Paid {
      DriverInstance* owner;
      ~Paid() { owner->callbacks_pending.fetch_sub(1); }
    } paid{owner};
    DriverCallFrame frame(*owner, "http answer",
                          conn_id ? std::string_view(*conn_id) : std::string_view());
    LogScope in_call(
        LogFields{.driver = *driver, .connection = conn_id ? std::string_view(*conn_id) : ""});
    std::vector<oemlink_http_header> hs;
    hs.reserve(resp.headers.size());
    for (auto& [k, v] : resp.headers) hs.push_back({{k.data(), k.size()}, {v.data(), v.size()}});
    oemlink_http_response out{};
    out.struct_size = sizeof out;
    out.status = resp.transport_ok ? OEMLINK_OK : OEMLINK_RETRY;
    out.http_status = static_cast<int32_t>(resp.status);
    out.headers = hs.data();
    out.header_count = hs.size();
    out.body = {resp.body.data(), resp.body.size()};
    out.error = {resp.error.data(), resp.error.size()};
    done(ctx, &out);
  });
  return OEMLINK_OK;
}

std::string HostServices::secret_owner(const DriverInstance& d, oemlink_conn* conn,
                                       std::string& legacy) {
  if (!conn) return SecretAccess::driver_owner(d.name);
  uint32_t c = own_connection(d, conn, "secret access");
  if (c == kNoConn) return {};
  legacy = SecretAccess::legacy_connection_owner(parts_.conns[c].id);
  return SecretAccess::connection_owner(d.name, parts_.conns[c].id);
}

oemlink_status HostServices::secret_get(DriverInstance& d, oemlink_conn* conn, std::string_view key,
                                        char* buf, size_t cap, size_t* size) {
  if (size) *size = 0;
  std::string legacy;
  std::string owner = secret_owner(d, conn, legacy);
  if (owner.empty()) return OEMLINK_ERROR;
  return parts_.secrets.get(owner, key, buf, cap, size, legacy);
}

oemlink_status HostServices::secret_put(DriverInstance& d, oemlink_conn* conn,
                                        const oemlink_str* keys, const oemlink_str* values,
                                        size_t count) {
  std::string legacy;
  std::string owner = secret_owner(d, conn, legacy);
  if (owner.empty()) return OEMLINK_ERROR;
  if (count && (!keys || !values)) {
    failed(d, "secret_put", "keys or values missing");
    return OEMLINK_ERROR;
  }
  std::vector<std::pair<std::string_view, std::string_view>> kv;
  kv.reserve(count);
  for (size_t i = 0; i < count; ++i) kv.emplace_back(abi_view(keys[i]), abi_view(values[i]));
  parts_.secrets.put(owner, kv, legacy);
  return OEMLINK_OK;
}

uint64_t HostServices::timer_start(DriverInstance& d, uint32_t delay_ms, oemlink_timer_fn fn,
                                   void* ctx) {
  if (d.draining) {  // retired by a reload: it is being let go
    failed(d, "timer_start", "the driver was removed or changed by a reload");
    return 0;
  }
  return parts_.timers.start(delay_ms, fn, ctx, &d);
}

void HostServices::timer_cancel(DriverInstance&, uint64_t id) {
  parts_.timers.cancel(id);
}

std::string HostServices::webhook_url(const DriverInstance& d) const {
  if (public_url_.empty() || !WebhookRoutes::declares_webhooks(d.d)) return {};
  return public_url_ + WebhookRoutes::path_of(d.name);
}

void HostServices::counter_add(DriverInstance& d, std::string_view name, uint64_t delta) {
  driver_counters_.add(d.name, name, delta);
}

uint64_t HostServices::mqtt_subscribe(DriverInstance& d, const oemlink_mqtt_subscription* sub,
                                      oemlink_mqtt_message_fn on_message,
                                      oemlink_mqtt_status_fn on_status, void* ctx) {
  if (closed_) return 0;  // shutting down: nothing new may start
  if (d.draining) {
    failed(d, "mqtt subscribe", "the driver was removed or changed by a reload");
    return 0;
  }
  if (!parts_.mqtt) {
    failed(d, "mqtt subscribe", "this host has no MQTT service");
    return 0;
  }
  if (!sub) {
    failed(d, "mqtt subscribe", "no subscription given");
    return 0;
  }
  std::string why;
  uint64_t id = parts_.mqtt->subscribe(d.index, d.name, *sub, on_message, on_status, ctx, why, &d);
  if (id == 0) failed(d, "mqtt subscribe", "subscription refused: " + why);
  return id;
}

void HostServices::mqtt_unsubscribe(DriverInstance& d, uint64_t id) {
  if (!parts_.mqtt || !parts_.mqtt->unsubscribe(d.index, id))
    failed(d, "mqtt unsubscribe", "no open subscription " + std::to_string(id) + " of this driver");
}

void HostServices::end_subscriptions(const DriverInstance& d) {
  if (!parts_.mqtt) return;
  if (size_t n = parts_.mqtt->end_all_of(d.index))
    spdlog::info("driver {}: {} mqtt subscription(s) still open were ended by the host", d.name, n);
}

}  // namespace oemlink::host
