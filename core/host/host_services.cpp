// The C ABI's host-services table: thin trampolines from oemlink_host function pointers to the
// Runtime. Nothing may throw across this boundary, so every entry catches.
#include "core/common/wall_clock.hpp"
#include "core/host/driver_instance.hpp"
#include "core/host/runtime.hpp"

#include <spdlog/spdlog.h>

#include <chrono>

namespace oemlink::host {
namespace {

DriverInstance& self(const oemlink_host* h) {
  return *static_cast<DriverInstance*>(h->host_data);
}

// A driver left running at shutdown (it had work in flight) may still call in after the runtime
// is gone; its DriverInstance is kept alive with `runtime` cleared, and every service refuses.
Runtime* runtime_of(const oemlink_host* h) {
  return h && h->host_data ? self(h).runtime : nullptr;
}

std::string_view view(oemlink_str s) {
  return s.data ? std::string_view(s.data, s.size) : "";
}

void OEMLINK_CALL log_fn(const oemlink_host* h, oemlink_conn* conn, oemlink_log_level level,
                         oemlink_str msg) {
  try {
    if (Runtime* rt = runtime_of(h)) rt->svc_log(self(h), conn, level, view(msg));
  } catch (...) {
  }
}

oemlink_status OEMLINK_CALL emit_fn(const oemlink_host* h, oemlink_conn* conn,
                                    const oemlink_reading* readings, size_t count) {
  try {
    Runtime* rt = runtime_of(h);
    return rt ? rt->svc_emit(self(h), conn, readings, count) : OEMLINK_ERROR;
  } catch (const std::exception& e) {
    // Nothing was taken: the driver keeps the readings and retries.
    spdlog::error("driver {}: emit failed: {}", self(h).name, e.what());
    return OEMLINK_RETRY;
  }
}

void OEMLINK_CALL report_state_fn(const oemlink_host* h, oemlink_conn* conn,
                                  oemlink_conn_state state, int64_t until, oemlink_str reason) {
  try {
    if (Runtime* rt = runtime_of(h))
      rt->svc_report_state(self(h), conn, state, until, view(reason));
  } catch (const std::exception& e) {
    spdlog::error("driver {}: report_state failed: {}", self(h).name, e.what());
  }
}

oemlink_status OEMLINK_CALL http_fn(const oemlink_host* h, oemlink_conn* conn,
                                    const oemlink_http_request* req, oemlink_http_done_fn done,
                                    void* ctx) {
  try {
    Runtime* rt = runtime_of(h);
    return rt ? rt->svc_http(self(h), conn, req, done, ctx) : OEMLINK_ERROR;
  } catch (const std::exception& e) {
    spdlog::error("driver {}: http_request failed: {}", self(h).name, e.what());
    return OEMLINK_ERROR;
  }
}

oemlink_status OEMLINK_CALL secret_get_fn(const oemlink_host* h, oemlink_conn* conn,
                                          oemlink_str key, char* buf, size_t cap, size_t* size) {
  try {
    Runtime* rt = runtime_of(h);
    if (rt) return rt->svc_secret_get(self(h), conn, view(key), buf, cap, size);
  } catch (...) {
  }
  if (size) *size = 0;
  return OEMLINK_ERROR;
}

oemlink_status OEMLINK_CALL secret_put_fn(const oemlink_host* h, oemlink_conn* conn,
                                          const oemlink_str* keys, const oemlink_str* values,
                                          size_t count) {
  try {
    Runtime* rt = runtime_of(h);
    return rt ? rt->svc_secret_put(self(h), conn, keys, values, count) : OEMLINK_ERROR;
  } catch (...) {
    return OEMLINK_ERROR;
  }
}

uint64_t OEMLINK_CALL timer_start_fn(const oemlink_host* h, uint32_t delay_ms, oemlink_timer_fn fn,
                                     void* ctx) {
  try {
    Runtime* rt = runtime_of(h);
    return rt ? rt->svc_timer_start(self(h), delay_ms, fn, ctx) : 0;
  } catch (...) {
    return 0;
  }
}

void OEMLINK_CALL timer_cancel_fn(const oemlink_host* h, uint64_t id) {
  try {
    if (Runtime* rt = runtime_of(h)) rt->svc_timer_cancel(id);
  } catch (...) {
  }
}

void OEMLINK_CALL counter_add_fn(const oemlink_host* h, oemlink_str name, uint64_t delta) {
  try {
    if (Runtime* rt = runtime_of(h)) rt->svc_counter_add(self(h), view(name), delta);
  } catch (...) {
  }
}

int64_t OEMLINK_CALL now_fn(const oemlink_host*) {
  return unix_ms();
}

const void* OEMLINK_CALL get_service_fn(const oemlink_host*, const char*) {
  return nullptr;  // no optional host services in ABI 1.0 yet
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
