// oemlink driver SDK — header-only C++ layer over the C ABI in driver.h.
//
// It turns a driver into two small classes (an instance and its connections) and keeps the ABI
// rules for you: exceptions never cross the boundary (they become OEMLINK_ERROR with the
// exception's message), completions fire exactly once (a dropped PollDone reports an error
// instead of hanging the connection), and callbacks into your code are std::function objects
// owned on the C++ side.
//
// Usage:
//   struct MySettings { std::string client_id; };
//   constexpr oemlink::SettingsTable kSettings{  // see settings.hpp
//       oemlink::field("client_id", OEMLINK_SETTING_STRING, OEMLINK_SETTING_REQUIRED, nullptr,
//                      "OAuth client id", &MySettings::client_id)};
//   class MyConnection : public oemlink::Connection { ... override poll() ... };
//   class MyDriver : public oemlink::Driver {
//    public:
//     MyDriver(oemlink::Host host, const MySettings& settings);
//     std::unique_ptr<oemlink::Connection> open(oemlink::ConnHandle,
//                                               const oemlink::ConnInfo&) override;
//   };
//   OEMLINK_DRIVER(MyDriver, "mine", "0.1.0", "My OEM", OEMLINK_CAP_POLL, kSettings)
//
// A driver class is constructed as D(Host, const Settings&) when its settings are a typed
// SettingsTable and it has such a constructor, otherwise as D(Host, std::string_view json).
//
// Depends on the C++ standard library only.
#ifndef OEMLINK_DRIVER_HPP
#define OEMLINK_DRIVER_HPP

#include <oemlink/driver.h>
#include <oemlink/settings.hpp>

#include <strings.h>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <exception>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace oemlink {

inline oemlink_str to_str(std::string_view s) {
  return oemlink_str{s.data(), s.size()};
}
inline std::string_view to_view(oemlink_str s) {
  return s.data ? std::string_view(s.data, s.size) : std::string_view();
}

using ConnHandle = oemlink_conn*;

// A reading in DIMO names and units. Views must outlive the emit() call.
struct Reading {
  static oemlink_reading number(std::string_view name, int64_t ts_ms, double v) {
    oemlink_reading r{};
    r.struct_size = sizeof r;
    r.name = to_str(name);
    r.timestamp_ms = ts_ms;
    r.kind = OEMLINK_VALUE_NUMBER;
    r.number = v;
    r.hdop = NAN;
    return r;
  }
  static oemlink_reading text(std::string_view name, int64_t ts_ms, std::string_view v) {
    oemlink_reading r = number(name, ts_ms, 0);
    r.kind = OEMLINK_VALUE_STRING;
    r.text = to_str(v);
    return r;
  }
  static oemlink_reading location(std::string_view name, int64_t ts_ms, double lat, double lon,
                                  double hdop = NAN) {
    oemlink_reading r = number(name, ts_ms, 0);
    r.kind = OEMLINK_VALUE_LOCATION;
    r.latitude = lat;
    r.longitude = lon;
    r.hdop = hdop;
    return r;
  }
};

struct HttpResponse {
  oemlink_status status = OEMLINK_RETRY;  // OK when a response arrived
  int http_status = 0;
  std::vector<std::pair<std::string_view, std::string_view>> headers;  // valid during callback
  std::string_view body;
  std::string_view error;

  // Case-insensitive header lookup; empty when absent.
  std::string_view header(std::string_view name) const {
    for (auto& [k, v] : headers) {
      if (k.size() == name.size() && strncasecmp(k.data(), name.data(), k.size()) == 0) return v;
    }
    return {};
  }
};

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  uint32_t timeout_ms = 0;
};

// What a driver asks the host's MQTT service to subscribe to (see oemlink_mqtt_subscription).
struct MqttSubscription {
  std::string host;
  uint32_t port = 0;
  uint32_t keepalive_s = 0;
  std::string client_id;
  std::string username;
  std::string password;
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  std::vector<std::string> topics;
  int qos = 1;
};

// An open MQTT subscription; ends it when destroyed. Destroy it outside its own callbacks.
class MqttSubscriptionHandle {
 public:
  using OnMessage = std::function<void(std::string_view topic, std::string_view payload)>;
  using OnStatus = std::function<void(bool connected, std::string_view message)>;
  MqttSubscriptionHandle(const MqttSubscriptionHandle&) = delete;
  MqttSubscriptionHandle& operator=(const MqttSubscriptionHandle&) = delete;
  ~MqttSubscriptionHandle() {
    if (id_) svc_->unsubscribe(host_, id_);
  }

 private:
  friend class Host;
  struct Callbacks {
    OnMessage on_message;
    OnStatus on_status;
  };
  MqttSubscriptionHandle() = default;
  static void OEMLINK_CALL message_trampoline(void* ctx, oemlink_str topic, oemlink_str payload) {
    auto* cb = static_cast<Callbacks*>(ctx);
    try {
      if (cb->on_message) cb->on_message(to_view(topic), to_view(payload));
    } catch (...) {
    }
  }
  static void OEMLINK_CALL status_trampoline(void* ctx, int32_t connected, oemlink_str msg) {
    auto* cb = static_cast<Callbacks*>(ctx);
    try {
      if (cb->on_status) cb->on_status(connected != 0, to_view(msg));
    } catch (...) {
    }
  }
  const oemlink_host* host_ = nullptr;
  const oemlink_mqtt_service* svc_ = nullptr;
  uint64_t id_ = 0;
  std::unique_ptr<Callbacks> callbacks_;  // outlives id_: unsubscribe waits for callbacks
};

// Copyable handle to the host's services. Cheap: one pointer.
class Host {
 public:
  Host() = default;
  explicit Host(const oemlink_host* h) : h_(h) {}
  const oemlink_host* raw() const { return h_; }

  void log(oemlink_log_level level, std::string_view msg, ConnHandle conn = nullptr) const {
    h_->log(h_, conn, level, to_str(msg));
  }
  oemlink_status emit(ConnHandle conn, std::span<const oemlink_reading> readings) const {
    return h_->emit(h_, conn, readings.data(), readings.size());
  }
  void report_state(ConnHandle conn, oemlink_conn_state state, int64_t until_unix_ms = 0,
                    std::string_view reason = {}) const {
    h_->report_state(h_, conn, state, until_unix_ms, to_str(reason));
  }
  int64_t now_ms() const { return h_->now_unix_ms(h_); }
  void count(std::string_view name, uint64_t delta = 1) const {
    h_->counter_add(h_, to_str(name), delta);
  }

  // Starts a request; `done` runs exactly once. Returns false (and does not call `done`) when
  // the host rejects the request as malformed.
  bool http(ConnHandle conn, const HttpRequest& req,
            std::function<void(const HttpResponse&)> done) const {
    std::vector<oemlink_http_header> hs;
    hs.reserve(req.headers.size());
    for (auto& [k, v] : req.headers) hs.push_back({to_str(k), to_str(v)});
    oemlink_http_request r{};
    r.struct_size = sizeof r;
    r.method = to_str(req.method);
    r.url = to_str(req.url);
    r.headers = hs.data();
    r.header_count = hs.size();
    r.body = to_str(req.body);
    r.timeout_ms = req.timeout_ms;
    auto* box = new std::function<void(const HttpResponse&)>(std::move(done));
    oemlink_status st = h_->http_request(h_, conn, &r, &Host::http_trampoline, box);
    if (st != OEMLINK_OK) {
      delete box;
      return false;
    }
    return true;
  }

  // Returns the secret, or nullopt-like empty + false when absent.
  bool secret_get(ConnHandle conn, std::string_view key, std::string& out) const {
    out.resize(256);
    for (;;) {
      size_t size = 0;
      oemlink_status st = h_->secret_get(h_, conn, to_str(key), out.data(), out.size(), &size);
      if (st == OEMLINK_OK) {
        out.resize(size);
        return true;
      }
      // RETRY must come with a larger size; anything else would loop forever.
      if (st != OEMLINK_RETRY || size <= out.size()) {
        out.clear();
        return false;
      }
      out.resize(size);
    }
  }
  // Stores all pairs atomically and durably.
  bool secret_put(ConnHandle conn,
                  std::span<const std::pair<std::string_view, std::string_view>> kv) const {
    std::vector<oemlink_str> ks, vs;
    for (auto& [k, v] : kv) {
      ks.push_back(to_str(k));
      vs.push_back(to_str(v));
    }
    return h_->secret_put(h_, conn, ks.data(), vs.data(), ks.size()) == OEMLINK_OK;
  }

  // The host's optional service `id` as type T (an oemlink_*_service table), or nullptr.
  template <class T>
  const T* service(const char* id) const {
    return h_->get_service ? static_cast<const T*>(h_->get_service(h_, id)) : nullptr;
  }

  // This instance's public webhook URL; empty when the host has no inbound listener configured.
  std::string webhook_url() const {
    auto* svc = service<oemlink_webhook_url_service>(OEMLINK_SERVICE_WEBHOOK_URL);
    if (!svc) return {};
    std::string out(256, '\0');
    for (;;) {
      size_t size = 0;
      oemlink_status st = svc->webhook_url(h_, out.data(), out.size(), &size);
      if (st == OEMLINK_OK) {
        out.resize(size);
        return out;
      }
      if (st != OEMLINK_RETRY || size <= out.size()) return {};
      out.resize(size);
    }
  }

  // True when the host offers MQTT subscriptions (ABI 1.1 hosts with the service).
  bool has_mqtt() const { return service<oemlink_mqtt_service>(OEMLINK_SERVICE_MQTT) != nullptr; }
  // Starts an MQTT subscription; nullptr when the host has no MQTT service or refused `sub`
  // (the host logged why). Callbacks run on the host's MQTT thread.
  std::unique_ptr<MqttSubscriptionHandle> mqtt_subscribe(
      const MqttSubscription& sub, MqttSubscriptionHandle::OnMessage on_message,
      MqttSubscriptionHandle::OnStatus on_status = {}) const {
    auto* svc = service<oemlink_mqtt_service>(OEMLINK_SERVICE_MQTT);
    if (!svc) return nullptr;
    std::vector<oemlink_str> topics;
    for (auto& t : sub.topics) topics.push_back(to_str(t));
    oemlink_mqtt_subscription s{};
    s.struct_size = sizeof s;
    s.host = to_str(sub.host);
    s.port = sub.port;
    s.keepalive_s = sub.keepalive_s;
    s.client_id = to_str(sub.client_id);
    s.username = to_str(sub.username);
    s.password = to_str(sub.password);
    s.ca_file = to_str(sub.ca_file);
    s.cert_file = to_str(sub.cert_file);
    s.key_file = to_str(sub.key_file);
    s.topics = topics.data();
    s.topic_count = topics.size();
    s.qos = sub.qos;
    std::unique_ptr<MqttSubscriptionHandle> handle(new MqttSubscriptionHandle());
    handle->callbacks_.reset(
        new MqttSubscriptionHandle::Callbacks{std::move(on_message), std::move(on_status)});
    handle->host_ = h_;
    handle->svc_ = svc;
    handle->id_ =
        svc->subscribe(h_, &s, &MqttSubscriptionHandle::message_trampoline,
                       &MqttSubscriptionHandle::status_trampoline, handle->callbacks_.get());
    if (!handle->id_) return nullptr;
    return handle;
  }

  // One-shot timer; `fn(cancelled)` runs exactly once. Returns the id for cancel_timer().
  uint64_t start_timer(uint32_t delay_ms, std::function<void(bool cancelled)> fn) const {
    auto* box = new std::function<void(bool)>(std::move(fn));
    uint64_t id = h_->timer_start(h_, delay_ms, &Host::timer_trampoline, box);
    if (id == 0) delete box;
    return id;
  }
  void cancel_timer(uint64_t id) const { h_->timer_cancel(h_, id); }

 private:
  static void OEMLINK_CALL http_trampoline(void* ctx, const oemlink_http_response* r) {
    std::unique_ptr<std::function<void(const HttpResponse&)>> fn(
        static_cast<std::function<void(const HttpResponse&)>*>(ctx));
    HttpResponse resp;
    resp.status = r->status;
    resp.http_status = r->http_status;
    for (size_t i = 0; i < r->header_count; ++i)
      resp.headers.emplace_back(to_view(r->headers[i].name), to_view(r->headers[i].value));
    resp.body = to_view(r->body);
    resp.error = to_view(r->error);
    try {
      (*fn)(resp);
    } catch (...) {
      // An exception may not unwind into the host; the driver's own completion logic owns
      // error reporting, so there is nothing more to do here.
    }
  }
  static void OEMLINK_CALL timer_trampoline(void* ctx, int32_t cancelled) {
    std::unique_ptr<std::function<void(bool)>> fn(static_cast<std::function<void(bool)>*>(ctx));
    try {
      (*fn)(cancelled != 0);
    } catch (...) {
    }
  }

  const oemlink_host* h_ = nullptr;
};

namespace detail {
// Set while a driver's Connection::poll() runs on this thread. The PollDone argument of poll() is
// destroyed while an exception unwinds out of it, before any handler can see the exception;
// the slot lets it hand its completion back to the adapter, which reports the exception's
// message instead of a generic "dropped".
struct PollUnwindSlot {
  oemlink_poll_done_fn fn;
  void* ctx;
  int uncaught_at_entry;
  bool claimed;
};
// initial-exec: a driver is a dlopen()ed library, and a dynamically allocated TLS block there
// trips LeakSanitizer's thread walk (and costs a lookup per access); one pointer fits in the
// static TLS surplus glibc keeps for such libraries.
#if defined(__GNUC__)
#define OEMLINK_TLS_INITIAL_EXEC __attribute__((tls_model("initial-exec")))
#else
#define OEMLINK_TLS_INITIAL_EXEC
#endif
inline thread_local PollUnwindSlot* poll_unwind_slot OEMLINK_TLS_INITIAL_EXEC = nullptr;
}  // namespace detail

// Move-only completion for one poll (or stream). Calling it twice is a no-op; destroying it
// uncalled reports OEMLINK_ERROR so the host never waits forever on a lost completion.
class PollDone {
 public:
  PollDone() = default;
  PollDone(oemlink_poll_done_fn fn, void* ctx) : fn_(fn), ctx_(ctx) {}
  PollDone(PollDone&& o) noexcept : fn_(std::exchange(o.fn_, nullptr)), ctx_(o.ctx_) {}
  PollDone& operator=(PollDone&& o) noexcept {
    if (this != &o) {
      finish(OEMLINK_ERROR, "poll completion dropped by the driver");
      fn_ = std::exchange(o.fn_, nullptr);
      ctx_ = o.ctx_;
    }
    return *this;
  }
  PollDone(const PollDone&) = delete;
  PollDone& operator=(const PollDone&) = delete;
  ~PollDone() {
    if (!fn_) return;
    detail::PollUnwindSlot* slot = detail::poll_unwind_slot;
    if (slot && !slot->claimed && slot->fn == fn_ && slot->ctx == ctx_ &&
        std::uncaught_exceptions() > slot->uncaught_at_entry) {
      slot->claimed = true;  // the adapter finishes it with the exception's message
      fn_ = nullptr;
      return;
    }
    finish(OEMLINK_ERROR, "poll completion dropped by the driver");
  }

  void ok() { finish(OEMLINK_OK, {}); }
  void retry(std::string_view why) { finish(OEMLINK_RETRY, why); }
  void error(std::string_view why) { finish(OEMLINK_ERROR, why); }
  void finish(oemlink_status st, std::string_view msg) {
    if (auto fn = std::exchange(fn_, nullptr)) fn(ctx_, st, to_str(msg));
  }
  explicit operator bool() const { return fn_ != nullptr; }

 private:
  oemlink_poll_done_fn fn_ = nullptr;
  void* ctx_ = nullptr;
};

struct ConnInfo {
  std::string id;
  std::string vin;
  std::string identifiers_json;
  uint64_t vehicle_token_id = 0;
  uint64_t synthetic_token_id = 0;
};

// Stream completion: same semantics as PollDone but for oemlink_stream_ended_fn. Destroying it
// while armed (neither called nor released) reports OEMLINK_ERROR, so a stream the driver lost
// track of is restarted by the host instead of being believed alive forever. After stream_stop,
// call release(): the host expects no `ended` then (and ignores one that comes anyway).
class StreamEnded {
 public:
  StreamEnded() = default;
  StreamEnded(oemlink_stream_ended_fn fn, void* ctx) : fn_(fn), ctx_(ctx) {}
  StreamEnded(StreamEnded&& o) noexcept : fn_(std::exchange(o.fn_, nullptr)), ctx_(o.ctx_) {}
  StreamEnded& operator=(StreamEnded&& o) noexcept {
    if (this != &o) {
      (*this)(OEMLINK_ERROR, "stream completion replaced by the driver");
      fn_ = std::exchange(o.fn_, nullptr);
      ctx_ = o.ctx_;
    }
    return *this;
  }
  StreamEnded(const StreamEnded&) = delete;
  StreamEnded& operator=(const StreamEnded&) = delete;
  ~StreamEnded() { (*this)(OEMLINK_ERROR, "stream completion dropped by the driver"); }

  // Report the end of the stream (at most once).
  void operator()(oemlink_status st, std::string_view msg) {
    if (auto fn = std::exchange(fn_, nullptr)) fn(ctx_, st, to_str(msg));
  }
  // Forget the callback without calling it (after stream_stop the host does not expect it).
  void release() { fn_ = nullptr; }
  explicit operator bool() const { return fn_ != nullptr; }

 private:
  oemlink_stream_ended_fn fn_ = nullptr;
  void* ctx_ = nullptr;
};

// One linked car. Override what your capabilities promise.
class Connection {
 public:
  virtual ~Connection() = default;
  // Start one poll; finish it through `done`. Throwing reports OEMLINK_ERROR.
  virtual void poll(PollDone done) { done.error("this driver does not poll"); }
  virtual void stream_start(StreamEnded ended) { ended(OEMLINK_ERROR, "no stream support"); }
  virtual void stream_stop() {}
};

// Linking (the oemlink.link/1 extension, driver.h): a driver that can link cars through its
// maker's OAuth consent returns a Linker from Driver::linker(). Every `done` must be called
// exactly once (a dropped one reports an error to the owner instead of hanging the link); an
// exception thrown from these calls becomes an error shown to the owner, so never put a token in
// its message.
struct LinkAuthorize {
  std::string state, redirect_uri, code_challenge, vehicle_id;
};
struct LinkCallback {
  std::string code, query, redirect_uri, code_verifier;
};
// The secrets each created connection stores, as open() reads them with secret_get.
using LinkSecrets = std::vector<std::pair<std::string, std::string>>;
struct LinkVehicle {
  std::string vehicle_id, vin, display_name, identifiers_json = "{}", make, model;
  uint32_t year = 0;
};
struct LinkExchangeResult {
  oemlink_status status = OEMLINK_ERROR;
  LinkSecrets secrets;  // with OEMLINK_OK
  std::string message;  // with an error: why, for the owner's eyes
};
struct LinkVehiclesResult {
  oemlink_status status = OEMLINK_ERROR;
  std::vector<LinkVehicle> vehicles;
  std::string message;
};

class Linker {
 public:
  virtual ~Linker() = default;
  // OEMLINK_LINK_* flags (OEMLINK_LINK_PKCE_S256 when the maker checks PKCE).
  virtual uint32_t link_flags() const { return 0; }
  // The maker's consent URL. Throw to refuse (the message is shown).
  virtual std::string authorize_url(const LinkAuthorize& request) = 0;
  virtual void exchange_code(const LinkCallback& callback,
                             std::function<void(LinkExchangeResult)> done) = 0;
  virtual void list_vehicles(const LinkSecrets& secrets,
                             std::function<void(LinkVehiclesResult)> done) = 0;
};

// One configured driver instance.
class Driver {
 public:
  virtual ~Driver() = default;
  virtual std::unique_ptr<Connection> open(ConnHandle conn, const ConnInfo& info) = 0;
  // Per-driver stream (conn == NULL in the ABI). Default: unsupported.
  virtual void stream_start(StreamEnded ended) { ended(OEMLINK_ERROR, "no driver-wide stream"); }
  virtual void stream_stop() {}
  // Webhook (POST /webhooks/<instance>): answer through `respond(status_code, body)` exactly
  // once, after emitting; the host holds a 2xx until those events are durable (driver.h).
  // A body starting with '{' or '[' is sent as application/json, anything else as text/plain.
  virtual void webhook(const HttpRequest& /*req*/,
                       std::function<void(int, std::string_view)> respond) {
    respond(404, "no webhook support");
  }
  // The onboarding interface (oemlink.link/1); null when this driver cannot link cars.
  virtual Linker* linker() { return nullptr; }
  virtual const void* extension(const char* /*id*/) { return nullptr; }
};

namespace detail {

inline void write_err(char* err, size_t cap, const char* msg) {
  if (err && cap) std::snprintf(err, cap, "%s", msg);
}

struct InstanceBox {
  std::unique_ptr<Driver> driver;
  oemlink_link_extension link{};  // filled on the first get_extension(OEMLINK_EXTENSION_LINK)
};

template <class D, class Table>
constexpr bool takes_settings_struct() {
  if constexpr (requires { typename Table::Settings; }) {
    return std::is_constructible_v<D, Host, const typename Table::Settings&>;
  } else {
    return false;
  }
}

// Trampolines for a concrete driver class D, constructible as D(Host, const Settings&) from a
// typed SettingsTable, or as D(Host, std::string_view) from the settings JSON.
template <class D, class Table = std::nullptr_t>
struct Adapter {
  // The driver's typed table (static storage); set once with the descriptor.
  static inline const Table* settings_table = nullptr;

  static std::unique_ptr<Driver> construct(const oemlink_host* host, std::string_view settings) {
    if constexpr (takes_settings_struct<D, Table>()) {
      return std::make_unique<D>(Host(host), settings_table->parse(settings));
    } else {
      return std::make_unique<D>(Host(host), settings);
    }
  }

  static oemlink_status OEMLINK_CALL create(const oemlink_host* host, oemlink_str settings,
                                            oemlink_instance** out, char* err, size_t cap) {
    try {
      auto box = std::make_unique<InstanceBox>();
      box->driver = construct(host, to_view(settings));
      *out = reinterpret_cast<oemlink_instance*>(box.release());
      return OEMLINK_OK;
    } catch (const std::exception& e) {
      write_err(err, cap, e.what());
    } catch (...) {
      write_err(err, cap, "unknown exception in create");
    }
    return OEMLINK_ERROR;
  }
  static InstanceBox* box(oemlink_instance* i) { return reinterpret_cast<InstanceBox*>(i); }
  static void OEMLINK_CALL destroy(oemlink_instance* i) {
    try {
      delete box(i);
    } catch (...) {
    }
  }
  static oemlink_status OEMLINK_CALL open(oemlink_instance* i, oemlink_conn* conn,
                                          const oemlink_conn_info* info, void** ctx, char* err,
                                          size_t cap) {
    try {
      ConnInfo ci;
      ci.id = std::string(to_view(info->id));
      ci.vin = std::string(to_view(info->vin));
      ci.identifiers_json = std::string(to_view(info->identifiers_json));
      ci.vehicle_token_id = info->vehicle_token_id;
      ci.synthetic_token_id = info->synthetic_token_id;
      auto c = box(i)->driver->open(conn, ci);
      if (!c) {
        write_err(err, cap, "driver refused the connection");
        return OEMLINK_ERROR;
      }
      *ctx = c.release();
      return OEMLINK_OK;
    } catch (const std::exception& e) {
      write_err(err, cap, e.what());
    } catch (...) {
      write_err(err, cap, "unknown exception in open");
    }
    return OEMLINK_ERROR;
  }
  static void OEMLINK_CALL close(oemlink_instance*, oemlink_conn*, void* ctx) {
    try {
      delete static_cast<Connection*>(ctx);
    } catch (...) {
    }
  }
  static oemlink_status OEMLINK_CALL poll(oemlink_instance*, oemlink_conn*, void* ctx,
                                          oemlink_poll_done_fn fn, void* done_ctx) {
    PollUnwindSlot slot{fn, done_ctx, std::uncaught_exceptions(), false};
    struct SlotScope {
      PollUnwindSlot* outer;
      ~SlotScope() { poll_unwind_slot = outer; }
    } scope{std::exchange(poll_unwind_slot, &slot)};
    // Only a completion that was still pending when the exception left poll() is finished
    // here; one the driver already finished or moved elsewhere stays the driver's.
    auto finish_claimed = [&](const char* why) {
      if (std::exchange(slot.claimed, false)) fn(done_ctx, OEMLINK_ERROR, to_str(why));
    };
    try {
      static_cast<Connection*>(ctx)->poll(PollDone(fn, done_ctx));
    } catch (const std::exception& e) {
      finish_claimed(e.what());
    } catch (...) {
      finish_claimed("unknown exception in poll");
    }
    // Claimed by an exception the driver caught itself: the completion is lost all the same.
    finish_claimed("poll completion dropped by the driver");
    return OEMLINK_OK;
  }
  static oemlink_status OEMLINK_CALL stream_start(oemlink_instance* i, oemlink_conn* conn,
                                                  void* ctx, oemlink_stream_ended_fn fn,
                                                  void* end_ctx) {
    StreamEnded ended(fn, end_ctx);
    try {
      if (conn)
        static_cast<Connection*>(ctx)->stream_start(std::move(ended));
      else
        box(i)->driver->stream_start(std::move(ended));
    } catch (const std::exception& e) {
      ended(OEMLINK_ERROR, e.what());
    } catch (...) {
      ended(OEMLINK_ERROR, "unknown exception in stream_start");
    }
    return OEMLINK_OK;
  }
  static void OEMLINK_CALL stream_stop(oemlink_instance* i, oemlink_conn* conn, void* ctx) {
    try {
      if (conn)
        static_cast<Connection*>(ctx)->stream_stop();
      else
        box(i)->driver->stream_stop();
    } catch (...) {
    }
  }
  static oemlink_status OEMLINK_CALL webhook(oemlink_instance* i, const oemlink_http_request* r,
                                             oemlink_webhook_respond_fn fn, void* ctx) {
    try {
      HttpRequest req;
      req.method = std::string(to_view(r->method));
      req.url = std::string(to_view(r->url));
      for (size_t k = 0; k < r->header_count; ++k)
        req.headers.emplace_back(std::string(to_view(r->headers[k].name)),
                                 std::string(to_view(r->headers[k].value)));
      req.body = std::string(to_view(r->body));
      box(i)->driver->webhook(req, [fn, ctx](int code, std::string_view body) {
        const bool json = !body.empty() && (body.front() == '{' || body.front() == '[');
        oemlink_http_header content_type{to_str("Content-Type"),
                                         to_str(json ? "application/json" : "text/plain")};
        oemlink_http_response resp{};
        resp.struct_size = sizeof resp;
        resp.status = OEMLINK_OK;
        resp.http_status = code;
        resp.headers = &content_type;
        resp.header_count = 1;
        resp.body = to_str(body);
        fn(ctx, &resp);
      });
      return OEMLINK_OK;
    } catch (...) {
      return OEMLINK_ERROR;
    }
  }
  static const void* OEMLINK_CALL get_extension(oemlink_instance* i, const char* id) {
    try {
      if (!i || !id) return nullptr;
      if (std::strcmp(id, OEMLINK_EXTENSION_LINK) == 0) {
        Linker* l = box(i)->driver->linker();
        if (!l) return nullptr;
        // One table per instance (flags differ by driver): kept in the instance's box.
        InstanceBox* b = box(i);
        b->link = oemlink_link_extension{};
        b->link.struct_size = sizeof b->link;
        b->link.flags = l->link_flags();
        b->link.authorize_url = &link_authorize_url;
        b->link.exchange_code = &link_exchange_code;
        b->link.list_vehicles = &link_list_vehicles;
        return &b->link;
      }
      return box(i)->driver->extension(id);
    } catch (...) {
      return nullptr;
    }
  }

  static oemlink_status OEMLINK_CALL link_authorize_url(oemlink_instance* i,
                                                        const oemlink_link_authorize* r, char* buf,
                                                        size_t cap, size_t* size) {
    std::string out;
    oemlink_status st = OEMLINK_OK;
    try {
      LinkAuthorize a;
      a.state = std::string(to_view(r->state));
      a.redirect_uri = std::string(to_view(r->redirect_uri));
      a.code_challenge = std::string(to_view(r->code_challenge));
      a.vehicle_id = std::string(to_view(r->vehicle_id));
      out = box(i)->driver->linker()->authorize_url(a);
    } catch (const std::exception& e) {
      out = e.what();
      st = OEMLINK_ERROR;
    } catch (...) {
      out = "unknown exception in authorize_url";
      st = OEMLINK_ERROR;
    }
    *size = out.size();
    if (out.size() > cap) return st == OEMLINK_OK ? OEMLINK_RETRY : OEMLINK_ERROR;
    if (!out.empty()) std::memcpy(buf, out.data(), out.size());
    return st;
  }

  // Calls `fn` exactly once even when the driver drops its `done` or throws.
  template <class Result>
  struct OnceGuard {
    std::function<void(Result)> deliver;
    bool fired = false;
    ~OnceGuard() {
      if (!fired) {
        Result r;
        r.status = OEMLINK_ERROR;
        r.message = "link completion dropped by the driver";
        deliver(std::move(r));
      }
    }
  };

  static void deliver_exchange(oemlink_link_exchanged_fn fn, void* ctx,
                               const LinkExchangeResult& r) {
    std::vector<oemlink_str> keys, values;
    for (auto& [k, v] : r.secrets) {
      keys.push_back(to_str(k));
      values.push_back(to_str(v));
    }
    fn(ctx, r.status, keys.data(), values.data(), keys.size(), to_str(r.message));
  }
  static oemlink_status OEMLINK_CALL link_exchange_code(oemlink_instance* i,
                                                        const oemlink_link_callback* c,
                                                        oemlink_link_exchanged_fn fn, void* ctx) {
    auto guard = std::make_shared<OnceGuard<LinkExchangeResult>>();
    guard->deliver = [fn, ctx](LinkExchangeResult r) { deliver_exchange(fn, ctx, r); };
    try {
      LinkCallback cb;
      cb.code = std::string(to_view(c->code));
      cb.query = std::string(to_view(c->query));
      cb.redirect_uri = std::string(to_view(c->redirect_uri));
      cb.code_verifier = std::string(to_view(c->code_verifier));
      box(i)->driver->linker()->exchange_code(cb, [guard](LinkExchangeResult r) {
        if (std::exchange(guard->fired, true)) return;
        deliver_exchange_wiped(guard->deliver, std::move(r));
      });
    } catch (const std::exception& e) {
      if (!std::exchange(guard->fired, true)) {
        LinkExchangeResult r;
        r.message = e.what();
        guard->deliver(std::move(r));
      }
    } catch (...) {
      if (!std::exchange(guard->fired, true)) {
        LinkExchangeResult r;
        r.message = "unknown exception in exchange_code";
        guard->deliver(std::move(r));
      }
    }
    return OEMLINK_OK;
  }
  // Token copies are zeroed once the host has taken them.
  static void deliver_exchange_wiped(const std::function<void(LinkExchangeResult)>& deliver,
                                     LinkExchangeResult r) {
    deliver(r);
    for (auto& [k, v] : r.secrets) {
      volatile char* p = v.data();
      for (size_t n = 0; n < v.size(); ++n) p[n] = 0;
    }
  }

  static void deliver_vehicles(oemlink_link_vehicles_fn fn, void* ctx,
                               const LinkVehiclesResult& r) {
    std::vector<oemlink_link_vehicle> vs;
    vs.reserve(r.vehicles.size());
    for (const LinkVehicle& v : r.vehicles) {
      oemlink_link_vehicle x{};
      x.struct_size = sizeof x;
      x.vehicle_id = to_str(v.vehicle_id);
      x.vin = to_str(v.vin);
      x.display_name = to_str(v.display_name);
      x.identifiers_json = to_str(v.identifiers_json);
      x.make = to_str(v.make);
      x.model = to_str(v.model);
      x.year = v.year;
      vs.push_back(x);
    }
    fn(ctx, r.status, vs.data(), vs.size(), to_str(r.message));
  }
  static oemlink_status OEMLINK_CALL link_list_vehicles(oemlink_instance* i,
                                                        const oemlink_str* keys,
                                                        const oemlink_str* values, size_t count,
                                                        oemlink_link_vehicles_fn fn, void* ctx) {
    auto guard = std::make_shared<OnceGuard<LinkVehiclesResult>>();
    guard->deliver = [fn, ctx](LinkVehiclesResult r) { deliver_vehicles(fn, ctx, r); };
    try {
      LinkSecrets secrets;
      for (size_t k = 0; k < count; ++k)
        secrets.emplace_back(std::string(to_view(keys[k])), std::string(to_view(values[k])));
      box(i)->driver->linker()->list_vehicles(secrets, [guard](LinkVehiclesResult r) {
        if (std::exchange(guard->fired, true)) return;
        guard->deliver(std::move(r));
      });
      for (auto& [k, v] : secrets) {
        volatile char* p = v.data();
        for (size_t n = 0; n < v.size(); ++n) p[n] = 0;
      }
    } catch (const std::exception& e) {
      if (!std::exchange(guard->fired, true)) {
        LinkVehiclesResult r;
        r.message = e.what();
        guard->deliver(std::move(r));
      }
    } catch (...) {
      if (!std::exchange(guard->fired, true)) {
        LinkVehiclesResult r;
        r.message = "unknown exception in list_vehicles";
        guard->deliver(std::move(r));
      }
    }
    return OEMLINK_OK;
  }
};

}  // namespace detail

namespace detail {
template <class D, class Table>
const oemlink_driver* build_descriptor(const char* name, const char* version, const char* desc,
                                       oemlink_capabilities caps, const oemlink_setting* settings,
                                       size_t setting_count, const Table* table) {
  using A = Adapter<D, Table>;
  static const oemlink_driver d = [&] {
    A::settings_table = table;
    oemlink_driver x{};
    x.struct_size = sizeof x;
    x.abi_major = OEMLINK_ABI_MAJOR;
    x.abi_minor = OEMLINK_ABI_MINOR;
    x.name = name;
    x.version = version;
    x.description = desc;
    x.capabilities = caps;
    x.settings = settings;
    x.setting_count = setting_count;
    x.create = &A::create;
    x.destroy = &A::destroy;
    x.open = &A::open;
    x.close = &A::close;
    x.poll = (caps & OEMLINK_CAP_POLL) ? &A::poll : nullptr;
    x.stream_start = (caps & OEMLINK_CAP_STREAM) ? &A::stream_start : nullptr;
    x.stream_stop = (caps & OEMLINK_CAP_STREAM) ? &A::stream_stop : nullptr;
    x.webhook = (caps & OEMLINK_CAP_WEBHOOK) ? &A::webhook : nullptr;
    x.get_extension = &A::get_extension;
    return x;
  }();
  return &d;
}
}  // namespace detail

// Builds the static descriptor for driver class D from a plain settings table (D is
// constructed from the settings JSON).
template <class D>
const oemlink_driver* make_descriptor(const char* name, const char* version, const char* desc,
                                      oemlink_capabilities caps, const oemlink_setting* settings,
                                      size_t setting_count) {
  return detail::build_descriptor<D, std::nullptr_t>(name, version, desc, caps, settings,
                                                     setting_count, nullptr);
}

// Builds the static descriptor for driver class D from its typed settings table, which must
// have static storage (a namespace-scope constexpr).
template <class D, class S, class... M>
const oemlink_driver* make_descriptor(const char* name, const char* version, const char* desc,
                                      oemlink_capabilities caps,
                                      const SettingsTable<S, M...>& table) {
  return detail::build_descriptor<D, SettingsTable<S, M...>>(name, version, desc, caps,
                                                             table.data(), table.size(), &table);
}

}  // namespace oemlink

namespace oemlink::detail {
template <class D, size_t N>
const oemlink_driver* describe(const char* name, const char* version, const char* desc,
                               oemlink_capabilities caps, const oemlink_setting (&rows)[N]) {
  return make_descriptor<D>(name, version, desc, caps, rows, N);
}
template <class D>
const oemlink_driver* describe(const char* name, const char* version, const char* desc,
                               oemlink_capabilities caps, std::nullptr_t) {
  return make_descriptor<D>(name, version, desc, caps, nullptr, 0);
}
template <class D, class S, class... M>
const oemlink_driver* describe(const char* name, const char* version, const char* desc,
                               oemlink_capabilities caps, const SettingsTable<S, M...>& table) {
  return make_descriptor<D>(name, version, desc, caps, table);
}

template <size_t N>
constexpr const oemlink_setting* settings_data(const oemlink_setting (&rows)[N]) {
  return rows;
}
template <size_t N>
constexpr size_t settings_count(const oemlink_setting (&)[N]) {
  return N;
}
constexpr const oemlink_setting* settings_data(std::nullptr_t) {
  return nullptr;
}
constexpr size_t settings_count(std::nullptr_t) {
  return 0;
}
template <class S, class... M>
constexpr const oemlink_setting* settings_data(const SettingsTable<S, M...>& table) {
  return table.data();
}
template <class S, class... M>
constexpr size_t settings_count(const SettingsTable<S, M...>& table) {
  return table.size();
}
}  // namespace oemlink::detail

// For a driver without settings: OEMLINK_DRIVER(D, "x", "1.0.0", "...", caps, OEMLINK_NO_SETTINGS)
#define OEMLINK_NO_SETTINGS nullptr

// Defines the exported entry point for driver class D. `settings` is a typed
// oemlink::SettingsTable (settings.hpp), a C array of oemlink_setting, or OEMLINK_NO_SETTINGS.
// The descriptor is returned whatever the host's version (the ABI's advice, see driver.h): the
// host compares ABI majors and names both in its error, which is more useful than a NULL.
#define OEMLINK_DRIVER(D, NAME, VERSION, DESCRIPTION, CAPS, SETTINGS)                  \
  extern "C" OEMLINK_EXPORT const oemlink_driver* OEMLINK_CALL oemlink_driver_entry(   \
      uint32_t /*host_major*/, uint32_t /*host_minor*/) {                              \
    return ::oemlink::detail::describe<D>(NAME, VERSION, DESCRIPTION, CAPS, SETTINGS); \
  }

#endif  // OEMLINK_DRIVER_HPP
