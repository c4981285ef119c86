// The C ABI's host-services table: trampolines from oemlink_host function pointers to
// HostServices. Nothing may unwind across this boundary: every entry catches, reports the
// failure through HostServices::failed (counter + rate-limited log) and returns the status the
// ABI documents for that service when the host fails (see core/host/README.md).
#include "core/common/abi_text.hpp"
#include "core/host/driver_set.hpp"
#include "core/host/host_services.hpp"

#include "core/common/wall_clock.hpp"

#include <cstring>
#include <exception>
#include <type_traits>

namespace oemlink::host {
namespace {

DriverInstance& self(const oemlink_host* h) {
  return *static_cast<DriverInstance*>(h->host_data);
}

// A driver left running at shutdown (it had work in flight) may still call in after the host is
// gone; its DriverInstance is kept alive with `services` cleared, and every service refuses.
HostServices* services_of(const oemlink_host* h) {
  return h && h->host_data ? self(h).services.load() : nullptr;
}

// Runs `fn`; on an exception reports it for `service` and returns `on_failure`. When the host is
// gone it returns `on_failure` too, except that a RETRY becomes ERROR: nothing will ever succeed.
template <class R, class Fn>
R guarded(const oemlink_host* h, const char* service, R on_failure, Fn&& fn) {
  HostServices* s = services_of(h);
  if (!s) {
    if constexpr (std::is_same_v<R, oemlink_status>)
      if (on_failure == OEMLINK_RETRY) return OEMLINK_ERROR;
    return on_failure;
  }
  try {
    return fn(*s, self(h));
  } catch (const std::exception& e) {
    s->failed(self(h), service, e.what());
  } catch (...) {
    s->failed(self(h), service, "unknown exception");
  }
  return on_failure;
}

// The same for services that return nothing.
template <class Fn>
void guarded_void(const oemlink_host* h, const char* service, Fn&& fn) {
  guarded<int>(h, service, 0, [&](HostServices& s, DriverInstance& d) {
    fn(s, d);
    return 0;
  });
}

void OEMLINK_CALL log_fn(const oemlink_host* h, oemlink_conn* conn, oemlink_log_level level,
                         oemlink_str msg) {
  guarded_void(h, "log",
               [&](HostServices& s, DriverInstance& d) { s.log(d, conn, level, abi_view(msg)); });
}

oemlink_status OEMLINK_CALL emit_fn(const oemlink_host* h, oemlink_conn* conn,
                                    const oemlink_reading* readings, size_t count) {
  // RETRY: nothing was taken, so the driver keeps the readings and tries again.
  return guarded(h, "emit", oemlink_status{OEMLINK_RETRY}, [&](HostServices& s, DriverInstance& d) {
    return s.emit(d, conn, readings, count);
  });
}

void OEMLINK_CALL report_state_fn(const oemlink_host* h, oemlink_conn* conn,
                                  oemlink_conn_state state, int64_t until, oemlink_str reason) {
  guarded_void(h, "report_state", [&](HostServices& s, DriverInstance& d) {
    s.report_state(d, conn, state, until, abi_view(reason));
  });
}

oemlink_status OEMLINK_CALL http_fn(const oemlink_host* h, oemlink_conn* conn,
                                    const oemlink_http_request* req, oemlink_http_done_fn done,
                                    void* ctx) {
  return guarded(
      h, "http_request", oemlink_status{OEMLINK_ERROR},
      [&](HostServices& s, DriverInstance& d) { return s.http(d, conn, req, done, ctx); });
}

oemlink_status OEMLINK_CALL secret_get_fn(const oemlink_host* h, oemlink_conn* conn,
                                          oemlink_str key, char* buf, size_t cap, size_t* size) {
  if (size) *size = 0;
  return guarded(h, "secret_get", oemlink_status{OEMLINK_ERROR},
                 [&](HostServices& s, DriverInstance& d) {
                   return s.secret_get(d, conn, abi_view(key), buf, cap, size);
                 });
}

oemlink_status OEMLINK_CALL secret_put_fn(const oemlink_host* h, oemlink_conn* conn,
                                          const oemlink_str* keys, const oemlink_str* values,
                                          size_t count) {
  return guarded(h, "secret_put", oemlink_status{OEMLINK_ERROR},
                 [&](HostServices& s, DriverInstance& d) {
                   return s.secret_put(d, conn, keys, values, count);
                 });
}

uint64_t OEMLINK_CALL timer_start_fn(const oemlink_host* h, uint32_t delay_ms, oemlink_timer_fn fn,
                                     void* ctx) {
  return guarded(h, "timer_start", uint64_t{0}, [&](HostServices& s, DriverInstance& d) {
    return s.timer_start(d, delay_ms, fn, ctx);
  });
}

void OEMLINK_CALL timer_cancel_fn(const oemlink_host* h, uint64_t id) {
  guarded_void(h, "timer_cancel",
               [&](HostServices& s, DriverInstance& d) { s.timer_cancel(d, id); });
}

void OEMLINK_CALL counter_add_fn(const oemlink_host* h, oemlink_str name, uint64_t delta) {
  guarded_void(h, "counter_add", [&](HostServices& s, DriverInstance& d) {
    s.counter_add(d, abi_view(name), delta);
  });
}

int64_t OEMLINK_CALL now_fn(const oemlink_host* h) {
  HostServices* s = services_of(h);
  return s ? s->now_ms() : unix_ms();
}

uint64_t OEMLINK_CALL mqtt_subscribe_fn(const oemlink_host* h, const oemlink_mqtt_subscription* sub,
                                        oemlink_mqtt_message_fn on_message,
                                        oemlink_mqtt_status_fn on_status, void* ctx) {
  return guarded(h, "mqtt subscribe", uint64_t{0}, [&](HostServices& s, DriverInstance& d) {
    return s.mqtt_subscribe(d, sub, on_message, on_status, ctx);
  });
}

void OEMLINK_CALL mqtt_unsubscribe_fn(const oemlink_host* h, uint64_t id) {
  guarded_void(h, "mqtt unsubscribe",
               [&](HostServices& s, DriverInstance& d) { s.mqtt_unsubscribe(d, id); });
}

constexpr oemlink_mqtt_service kMqttService{
    .struct_size = sizeof(oemlink_mqtt_service),
    .subscribe = &mqtt_subscribe_fn,
    .unsubscribe = &mqtt_unsubscribe_fn,
};

oemlink_status OEMLINK_CALL webhook_url_fn(const oemlink_host* h, char* buf, size_t cap,
                                           size_t* size) {
  if (size) *size = 0;
  return guarded(h, "webhook_url", oemlink_status{OEMLINK_ERROR},
                 [&](HostServices& s, DriverInstance& d) {
                   std::string url = s.webhook_url(d);
                   if (url.empty()) return oemlink_status{OEMLINK_ERROR};
                   if (size) *size = url.size();
                   if (!buf || cap < url.size()) return oemlink_status{OEMLINK_RETRY};
                   std::memcpy(buf, url.data(), url.size());
                   return oemlink_status{OEMLINK_OK};
                 });
}

const oemlink_webhook_url_service kWebhookUrlService{
    .struct_size = sizeof(oemlink_webhook_url_service),
    .webhook_url = &webhook_url_fn,
};

// Optional services by id; NULL when this host (or this configuration) has none by that id.
const void* OEMLINK_CALL get_service_fn(const oemlink_host* h, const char* id) {
  if (!id) return nullptr;
  HostServices* s = services_of(h);
  if (!s) return nullptr;
  if (std::strcmp(id, OEMLINK_SERVICE_MQTT) == 0) return s->has_mqtt() ? &kMqttService : nullptr;
  if (std::strcmp(id, OEMLINK_SERVICE_WEBHOOK_URL) == 0)
    return s->webhook_url(self(h)).empty() ? nullptr : &kWebhookUrlService;
  return nullptr;
}

}  // namespace

oemlink_host make_host_table(DriverInstance& d) {
  oemlink_host t{};
  t.struct_size = sizeof t;
  t.abi_major = OEMLINK_ABI_MAJOR;
  t.abi_minor = OEMLINK_ABI_MINOR;
  t.host_data = &d;
  t.log = &log_fn;
  t.emit = &emit_fn;
  t.report_state = &report_state_fn;
  t.http_request = &http_fn;
  t.secret_get = &secret_get_fn;
  t.secret_put = &secret_put_fn;
  t.timer_start = &timer_start_fn;
  t.timer_cancel = &timer_cancel_fn;
  t.counter_add = &counter_add_fn;
  t.now_unix_ms = &now_fn;
  t.get_service = &get_service_fn;
  return t;
}

}  // namespace oemlink::host
