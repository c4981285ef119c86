#include "core/isolation/child_host.hpp"

#include "core/isolation/abi_codec.hpp"
#include "core/isolation/child_crash_line.hpp"
#include "core/isolation/message_kind.hpp"

#include "core/common/secure_wipe.hpp"

#include <unistd.h>
#include <algorithm>
#include <chrono>
#include <cstring>
#include <thread>

namespace oemlink::isolation {
namespace {

// Calls into the host wait this long for its answer: the host answers from its reader thread,
// so only a host that is itself gone leaves a call unanswered.
constexpr std::chrono::milliseconds kHostAnswerTimeout{120'000};

int64_t system_unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

ChildHost& self(const oemlink_host* h) {
  return *static_cast<ChildHost*>(h->host_data);
}
uint64_t conn_id(oemlink_conn* c) {
  return reinterpret_cast<uintptr_t>(c);
}
oemlink_conn* conn_handle(uint64_t c) {
  return reinterpret_cast<oemlink_conn*>(c);
}
void* token_ctx(uint64_t t) {
  return reinterpret_cast<void*>(static_cast<uintptr_t>(t));
}
uint64_t ctx_token(void* p) {
  return reinterpret_cast<uintptr_t>(p);
}

// A completion into a host that went away is dropped: the host has already failed that work.
ChildHost* g_child = nullptr;

void OEMLINK_CALL poll_done(void* ctx, oemlink_status st, oemlink_str msg) {
  g_child->send_done(kPollDone, ctx_token(ctx), st, msg);
}
void OEMLINK_CALL stream_ended(void* ctx, oemlink_status st, oemlink_str msg) {
  g_child->send_done(kStreamEnded, ctx_token(ctx), st, msg);
}
void OEMLINK_CALL webhook_respond(void* ctx, const oemlink_http_response* a) {
  g_child->send_webhook_answer(ctx_token(ctx), a);
}
void OEMLINK_CALL link_exchanged(void* ctx, oemlink_status st, const oemlink_str* k,
                                 const oemlink_str* v, size_t n, oemlink_str msg) {
  g_child->send_link_exchanged(ctx_token(ctx), st, k, v, n, msg);
}
void OEMLINK_CALL link_vehicles(void* ctx, oemlink_status st, const oemlink_link_vehicle* v,
                                size_t n, oemlink_str msg) {
  g_child->send_link_vehicles(ctx_token(ctx), st, v, n, msg);
}

}  // namespace

ChildHost::ChildHost(int channel_fd, const oemlink_driver* descriptor, std::string name)
    : d_(descriptor), name_(std::move(name)), channel_(channel_fd, system_unix_ms) {
  g_child = this;
  table_.struct_size = sizeof table_;
  table_.abi_major = OEMLINK_ABI_MAJOR;
  table_.abi_minor = OEMLINK_ABI_MINOR;
  table_.host_data = this;
  table_.log = [](const oemlink_host* h, oemlink_conn* c, oemlink_log_level l, oemlink_str m) {
    self(h).log(conn_id(c), l, m);
  };
  table_.emit = [](const oemlink_host* h, oemlink_conn* c, const oemlink_reading* r, size_t n) {
    return self(h).emit(conn_id(c), r, n);
  };
  table_.report_state = [](const oemlink_host* h, oemlink_conn* c, oemlink_conn_state s,
                           int64_t until, oemlink_str reason) {
    self(h).report_state(conn_id(c), s, until, reason);
  };
  table_.http_request = [](const oemlink_host* h, oemlink_conn* c, const oemlink_http_request* q,
                           oemlink_http_done_fn done,
                           void* ctx) { return self(h).http_request(conn_id(c), q, done, ctx); };
  table_.secret_get = [](const oemlink_host* h, oemlink_conn* c, oemlink_str key, char* buf,
                         size_t cap, size_t* size) {
    return self(h).secret_get(conn_id(c), key, buf, cap, size);
  };
  table_.secret_put = [](const oemlink_host* h, oemlink_conn* c, const oemlink_str* k,
                         const oemlink_str* v,
                         size_t n) { return self(h).secret_put(conn_id(c), k, v, n); };
  table_.timer_start = [](const oemlink_host* h, uint32_t delay, oemlink_timer_fn fn, void* ctx) {
    return self(h).timer_start(delay, fn, ctx);
  };
  table_.timer_cancel = [](const oemlink_host* h, uint64_t id) { self(h).timer_cancel(id); };
  table_.counter_add = [](const oemlink_host* h, oemlink_str name, uint64_t delta) {
    self(h).counter_add(name, delta);
  };
  table_.now_unix_ms = [](const oemlink_host* h) { return self(h).now_unix_ms(); };
  table_.get_service = [](const oemlink_host* h, const char* id) {
    return self(h).get_service(id);
  };
  webhook_service_.struct_size = sizeof webhook_service_;
  webhook_service_.webhook_url = [](const oemlink_host* h, char* buf, size_t cap, size_t* size) {
    return self(h).webhook_url(buf, cap, size);
  };
  mqtt_service_.struct_size = sizeof mqtt_service_;
  mqtt_service_.subscribe = [](const oemlink_host* h, const oemlink_mqtt_subscription* sub,
                               oemlink_mqtt_message_fn m, oemlink_mqtt_status_fn s,
                               void* ctx) { return self(h).mqtt_subscribe(sub, m, s, ctx); };
  mqtt_service_.unsubscribe = [](const oemlink_host* h, uint64_t id) {
    self(h).mqtt_unsubscribe(id);
  };
}

ChildHost::~ChildHost() {
  channel_.close();
  g_child = nullptr;
}

int ChildHost::run() {
  driver_thread_ = std::this_thread::get_id();
  channel_.start([this](FrameReader& r) { on_frame(r); },
                 [this](const std::string&) {
                   std::lock_guard lk(q_mu_);
                   channel_gone_ = true;
                   q_cv_.notify_all();
                 });
  for (;;) {
    std::pair<FrameHeader, std::string> f;
    {
      std::unique_lock lk(q_mu_);
      q_cv_.wait(lk, [&] { return !queue_.empty() || channel_gone_; });
      if (queue_.empty()) break;
      f = std::move(queue_.front());
      queue_.pop_front();
    }
    try {
      run_frame(f.first, f.second);
    } catch (const std::exception& e) {
      // A frame the host should never have sent: say so and stop; the host restarts us.
      std::string line = "oemlink-driver-process " + name_ + ": " + e.what() + "\n";
      (void)!::write(2, line.data(), line.size());
      break;
    }
    if (destroyed_) break;
  }
  // The last answer (destroy's) is on its way before the socket closes.
  for (int i = 0; i < 100 && channel_.queued_bytes() > 0 && !channel_.closed(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  channel_.close();
  return destroyed_ ? 0 : 3;
}

void ChildHost::on_frame(FrameReader& r) {
  // Copied as a whole: the driver thread reads it after the reader's buffer has moved on.
  std::lock_guard lk(q_mu_);
  queue_.emplace_back(r.header(), std::string(r.remaining()));
  q_cv_.notify_one();
}

std::optional<ReplyFrame> ChildHost::call(FrameWriter& w) {
  return channel_.call(w, kHostAnswerTimeout);
}

void ChildHost::reply(FrameWriter& w) {
  channel_.send(w);
}

void* ChildHost::conn_ctx(uint64_t conn) const {
  std::lock_guard lk(mu_);
  auto it = conns_.find(conn);
  return it == conns_.end() ? nullptr : it->second.ctx;
}

const std::string* ChildHost::connection_id(uint64_t conn) const {
  auto it = conns_.find(conn);
  return it == conns_.end() ? nullptr : &it->second.id;
}

const oemlink_link_extension* ChildHost::link() const {
  if (!inst_ || !d_->get_extension) return nullptr;
  CrashFrame frame("get_extension", nullptr);
  return static_cast<const oemlink_link_extension*>(
      d_->get_extension(inst_, OEMLINK_EXTENSION_LINK));
}

void ChildHost::run_frame(const FrameHeader& h, const std::string& payload) {
  FrameReader r(h, payload);
  switch (h.kind) {
    case kCreate:
      return do_create(h.call_id, r);
    case kDestroy: {
      r.done();
      if (inst_) {
        CrashFrame frame("destroy", nullptr);
        d_->destroy(inst_);
      }
      inst_ = nullptr;
      destroyed_ = true;
      FrameWriter w(kReply, h.call_id);
      return reply(w);
    }
    case kOpen:
      return do_open(h.call_id, r);
    case kClose:
      return do_close(h.call_id, r);
    case kPoll:
      return do_poll(r);
    case kStreamStart:
      return do_stream_start(h.call_id, r);
    case kStreamStop:
      return do_stream_stop(h.call_id, r);
    case kWebhook:
      return do_webhook(h.call_id, r);
    case kLinkAuthorize:
      return do_link_authorize(h.call_id, r);
    case kLinkExchange:
      return do_link_exchange(h.call_id, r);
    case kLinkList:
      return do_link_list(h.call_id, r);
    case kHttpDone:
      return do_http_done(r);
    case kTimerFired:
      return do_timer_fired(r);
    case kMqttMessage:
    case kMqttStatus:
      return do_mqtt(h.kind, r);
    default:
      throw FrameError("unknown message kind " + std::to_string(h.kind));
  }
}

void ChildHost::do_create(uint64_t id, FrameReader& r) {
  std::string_view settings = r.str();
  has_webhook_url_ = r.u8() != 0;
  webhook_url_ = std::string(r.str());
  has_mqtt_ = r.u8() != 0;
  r.done();
  char err[1024] = {};
  oemlink_status st;
  {
    CrashFrame frame("create", nullptr);
    st = d_->create(&table_, {settings.data(), settings.size()}, &inst_, err, sizeof err - 1);
  }
  if (st != OEMLINK_OK) inst_ = nullptr;
  uint32_t link_flags = 0;
  if (st == OEMLINK_OK)
    if (const oemlink_link_extension* l = link()) link_flags = 1u | (l->flags << 8);
  FrameWriter w(kReply, id);
  w.i32(st).str(std::string_view(err)).u32(link_flags);
  reply(w);
}

void ChildHost::do_open(uint64_t id, FrameReader& r) {
  uint64_t conn = r.u64();
  oemlink_conn_info info = get_conn_info(r);
  r.done();
  {
    std::lock_guard lk(mu_);
    conns_[conn].id.assign(info.id.data, info.id.size);
  }
  char err[1024] = {};
  void* ctx = nullptr;
  oemlink_status st = OEMLINK_ERROR;
  if (inst_) {
    CrashFrame frame("open", connection_id(conn));
    st = d_->open(inst_, conn_handle(conn), &info, &ctx, err, sizeof err - 1);
  }
  {
    std::lock_guard lk(mu_);
    if (st == OEMLINK_OK)
      conns_[conn].ctx = ctx;
    else
      conns_.erase(conn);
  }
  FrameWriter w(kReply, id);
  w.i32(st).str(std::string_view(err));
  reply(w);
}

void ChildHost::do_close(uint64_t id, FrameReader& r) {
  uint64_t conn = r.u64();
  r.done();
  if (inst_) {
    CrashFrame frame("close", connection_id(conn));
    d_->close(inst_, conn_handle(conn), conn_ctx(conn));
  }
  {
    std::lock_guard lk(mu_);
    conns_.erase(conn);
  }
  FrameWriter w(kReply, id);
  reply(w);
}

void ChildHost::do_poll(FrameReader& r) {
  uint64_t conn = r.u64();
  uint64_t token = r.u64();
  r.done();
  oemlink_status st = OEMLINK_ERROR;
  if (inst_ && d_->poll) {
    CrashFrame frame("poll", connection_id(conn));
    st = d_->poll(inst_, conn_handle(conn), conn_ctx(conn), &poll_done, token_ctx(token));
  }
  if (st != OEMLINK_OK) {
    static constexpr std::string_view kRefused = "poll refused to start";
    send_done(kPollDone, token, st == OEMLINK_RETRY ? OEMLINK_RETRY : OEMLINK_ERROR,
              {kRefused.data(), kRefused.size()});
  }
}

void ChildHost::do_stream_start(uint64_t id, FrameReader& r) {
  uint64_t conn = r.u64();
  uint64_t token = r.u64();
  r.done();
  oemlink_status st = OEMLINK_ERROR;
  if (inst_ && d_->stream_start) {
    CrashFrame frame("stream_start", connection_id(conn));
    st = d_->stream_start(inst_, conn_handle(conn), conn ? conn_ctx(conn) : nullptr, &stream_ended,
                          token_ctx(token));
  }
  FrameWriter w(kReply, id);
  w.i32(st);
  reply(w);
}

void ChildHost::do_stream_stop(uint64_t id, FrameReader& r) {
  uint64_t conn = r.u64();
  r.done();
  if (inst_ && d_->stream_stop) {
    CrashFrame frame("stream_stop", connection_id(conn));
    d_->stream_stop(inst_, conn_handle(conn), conn ? conn_ctx(conn) : nullptr);
  }
  FrameWriter w(kReply, id);
  reply(w);
}

void ChildHost::do_webhook(uint64_t id, FrameReader& r) {
  DecodedHttpRequest q;
  get_http_request(r, q);
  uint64_t token = r.u64();
  r.done();
  oemlink_status st = OEMLINK_ERROR;
  if (inst_ && d_->webhook) {
    CrashFrame frame("webhook", nullptr);
    st = d_->webhook(inst_, &q.request, &webhook_respond, token_ctx(token));
  }
  FrameWriter w(kReply, id);
  w.i32(st);
  reply(w);
}

void ChildHost::do_link_authorize(uint64_t id, FrameReader& r) {
  oemlink_link_authorize a = get_link_authorize(r);
  r.done();
  oemlink_status st = OEMLINK_ERROR;
  std::string text(512, '\0');
  size_t size = 0;
  if (const oemlink_link_extension* l = link()) {
    CrashFrame frame("link authorize_url", nullptr);
    for (int tries = 0; tries < 4; ++tries) {
      size = 0;
      st = l->authorize_url(inst_, &a, text.data(), text.size(), &size);
      if (size <= text.size()) break;
      text.resize(size);  // too small, whatever the status: ask again with the size it needs
    }
  }
  text.resize(std::min(size, text.size()));
  FrameWriter w(kReply, id);
  w.i32(st).str(text);
  reply(w);
}

void ChildHost::do_link_exchange(uint64_t id, FrameReader& r) {
  oemlink_link_callback c = get_link_callback(r);
  uint64_t token = r.u64();
  r.done();
  oemlink_status st = OEMLINK_ERROR;
  if (const oemlink_link_extension* l = link()) {
    CrashFrame frame("link exchange_code", nullptr);
    st = l->exchange_code(inst_, &c, &link_exchanged, token_ctx(token));
  }
  FrameWriter w(kReply, id);
  w.i32(st);
  reply(w);
}

void ChildHost::do_link_list(uint64_t id, FrameReader& r) {
  DecodedPairs p = get_pairs(r);
  uint64_t token = r.u64();
  r.done();
  oemlink_status st = OEMLINK_ERROR;
  if (const oemlink_link_extension* l = link()) {
    CrashFrame frame("link list_vehicles", nullptr);
    st = l->list_vehicles(inst_, p.keys.data(), p.values.data(), p.keys.size(), &link_vehicles,
                          token_ctx(token));
  }
  FrameWriter w(kReply, id);
  w.i32(st);
  reply(w);
}

void ChildHost::do_http_done(FrameReader& r) {
  uint64_t token = r.u64();
  DecodedHttpResponse a;
  get_http_response(r, a);
  r.done();
  Callback cb{};
  {
    std::lock_guard lk(mu_);
    auto it = http_.find(token);
    if (it == http_.end()) return;
    cb = it->second;
    http_.erase(it);
  }
  CrashFrame frame("http answer", nullptr);
  reinterpret_cast<oemlink_http_done_fn>(cb.fn)(cb.ctx, &a.response);
}

void ChildHost::do_timer_fired(FrameReader& r) {
  uint64_t token = r.u64();
  int32_t cancelled = r.i32();
  r.done();
  Callback cb{};
  {
    std::lock_guard lk(mu_);
    auto it = timers_.find(token);
    if (it == timers_.end()) return;
    cb = it->second;
    timers_.erase(it);
  }
  CrashFrame frame("timer", nullptr);
  reinterpret_cast<oemlink_timer_fn>(cb.fn)(cb.ctx, cancelled);
}

void ChildHost::do_mqtt(uint16_t kind, FrameReader& r) {
  uint64_t token = r.u64();
  Subscription sub{};
  {
    std::lock_guard lk(mu_);
    auto it = subs_.find(token);
    if (it == subs_.end()) return;  // unsubscribed since the host sent it
    sub = it->second;
    running_sub_ = token;
  }
  struct Leave {
    ChildHost* h;
    ~Leave() {
      std::lock_guard lk(h->mu_);
      h->running_sub_ = 0;
      h->sub_cv_.notify_all();
    }
  } leave{this};
  CrashFrame frame("mqtt message", nullptr);
  if (kind == kMqttMessage) {
    oemlink_str topic = r.view();
    oemlink_str payload = r.view();
    r.done();
    sub.on_message(sub.ctx, topic, payload);
  } else {
    int32_t connected = r.i32();
    oemlink_str message = r.view();
    r.done();
    if (sub.on_status) sub.on_status(sub.ctx, connected, message);
  }
}

// --- host services -------------------------------------------------------------------------

void ChildHost::log(uint64_t conn, oemlink_log_level level, oemlink_str message) {
  FrameWriter w(kLog, 0);
  w.u64(conn).i32(level).str(message);
  channel_.send(w);
}

oemlink_status ChildHost::emit(uint64_t conn, const oemlink_reading* readings, size_t count) {
  FrameWriter w(kEmit, channel_.new_call_id());
  w.u64(conn);
  put_readings(w, readings, count);
  auto a = call(w);
  if (!a) return OEMLINK_RETRY;  // nothing was taken
  FrameReader r = a->reader();
  return r.i32();
}

void ChildHost::report_state(uint64_t conn, oemlink_conn_state state, int64_t until,
                             oemlink_str reason) {
  FrameWriter w(kReportState, 0);
  w.u64(conn).i32(state).i64(until).str(reason);
  channel_.send(w);
}

oemlink_status ChildHost::http_request(uint64_t conn, const oemlink_http_request* request,
                                       oemlink_http_done_fn done, void* ctx) {
  if (!request || !done) return OEMLINK_ERROR;
  uint64_t token = next_token_.fetch_add(1);
  {
    std::lock_guard lk(mu_);
    http_[token] = {reinterpret_cast<void*>(done), ctx};
  }
  FrameWriter w(kHttpRequest, channel_.new_call_id());
  w.u64(conn);
  put_http_request(w, *request);
  w.u64(token);
  auto a = call(w);
  oemlink_status st = OEMLINK_ERROR;
  if (a) {
    FrameReader r = a->reader();
    st = r.i32();
  }
  if (st != OEMLINK_OK) {
    std::lock_guard lk(mu_);
    http_.erase(token);
  }
  return st;
}

oemlink_status ChildHost::secret_get(uint64_t conn, oemlink_str key, char* buf, size_t cap,
                                     size_t* size) {
  FrameWriter w(kSecretGet, channel_.new_call_id());
  w.u64(conn).str(key);
  auto a = call(w);
  if (size) *size = 0;
  if (!a) return OEMLINK_ERROR;
  FrameReader r = a->reader();
  oemlink_status st = r.i32();
  std::string_view value = r.str();
  if (st != OEMLINK_OK) return st;
  if (size) *size = value.size();
  if (value.size() > cap || (!buf && !value.empty())) return OEMLINK_RETRY;
  if (!value.empty()) std::memcpy(buf, value.data(), value.size());
  // The reply held the secret: it goes with the frame, wiped first.
  oemlink::secure_wipe(a->payload.data(), a->payload.size());
  return OEMLINK_OK;
}

oemlink_status ChildHost::secret_put(uint64_t conn, const oemlink_str* keys,
                                     const oemlink_str* values, size_t count) {
  FrameWriter w(kSecretPut, channel_.new_call_id());
  w.u64(conn);
  put_pairs(w, keys, values, count);
  auto a = call(w);
  if (!a) return OEMLINK_ERROR;
  FrameReader r = a->reader();
  return r.i32();
}

uint64_t ChildHost::timer_start(uint32_t delay_ms, oemlink_timer_fn fn, void* ctx) {
  if (!fn) return 0;
  uint64_t token = next_token_.fetch_add(1);
  {
    std::lock_guard lk(mu_);
    timers_[token] = {reinterpret_cast<void*>(fn), ctx};
  }
  FrameWriter w(kTimerStart, channel_.new_call_id());
  w.u32(delay_ms).u64(token);
  auto a = call(w);
  uint64_t id = 0;
  if (a) {
    FrameReader r = a->reader();
    id = r.u64();
  }
  if (id == 0) {
    std::lock_guard lk(mu_);
    timers_.erase(token);
  }
  return id;
}

void ChildHost::timer_cancel(uint64_t id) {
  FrameWriter w(kTimerCancel, 0);
  w.u64(id);
  channel_.send(w);
}

void ChildHost::counter_add(oemlink_str name, uint64_t delta) {
  FrameWriter w(kCounterAdd, 0);
  w.str(name).u64(delta);
  channel_.send(w);
}

int64_t ChildHost::now_unix_ms() const {
  // The host stamps its time on every frame: its skew-corrected (or a test's) clock, not ours.
  return system_unix_ms() + channel_.peer_clock_offset_ms();
}

const void* ChildHost::get_service(const char* id) const {
  if (!id) return nullptr;
  std::string_view s(id);
  if (s == OEMLINK_SERVICE_WEBHOOK_URL && has_webhook_url_) return &webhook_service_;
  if (s == OEMLINK_SERVICE_MQTT && has_mqtt_) return &mqtt_service_;
  return nullptr;
}

oemlink_status ChildHost::webhook_url(char* buf, size_t cap, size_t* size) const {
  if (size) *size = webhook_url_.size();
  if (webhook_url_.size() > cap || !buf) return webhook_url_.empty() ? OEMLINK_OK : OEMLINK_RETRY;
  std::memcpy(buf, webhook_url_.data(), webhook_url_.size());
  return OEMLINK_OK;
}

uint64_t ChildHost::mqtt_subscribe(const oemlink_mqtt_subscription* sub,
                                   oemlink_mqtt_message_fn on_message,
                                   oemlink_mqtt_status_fn on_status, void* ctx) {
  if (!sub || !on_message) return 0;
  uint64_t token = next_token_.fetch_add(1);
  {
    std::lock_guard lk(mu_);
    subs_[token] = {on_message, on_status, ctx, 0};
  }
  FrameWriter w(kMqttSubscribe, channel_.new_call_id());
  put_mqtt_subscription(w, *sub);
  w.u64(token);
  auto a = call(w);
  uint64_t id = 0;
  if (a) {
    FrameReader r = a->reader();
    id = r.u64();
  }
  std::lock_guard lk(mu_);
  if (id == 0)
    subs_.erase(token);
  else
    subs_[token].host_id = id;
  return id;
}

void ChildHost::mqtt_unsubscribe(uint64_t id) {
  {
    std::unique_lock lk(mu_);
    uint64_t token = 0;
    for (auto& [t, s] : subs_)
      if (s.host_id == id) token = t;
    if (token == 0) return;
    subs_.erase(token);
    // Messages already queued for it are dropped (not found); one being delivered on the driver
    // thread is waited out unless this is that thread.
    if (running_sub_ == token && std::this_thread::get_id() != driver_thread_)
      sub_cv_.wait(lk, [&] { return running_sub_ != token; });
  }
  FrameWriter w(kMqttUnsubscribe, channel_.new_call_id());
  w.u64(id);
  call(w);
}

void ChildHost::send_done(uint16_t kind, uint64_t token, oemlink_status status,
                          oemlink_str message) {
  FrameWriter w(kind, 0);
  w.u64(token).i32(status).str(message);
  channel_.send(w);
}

void ChildHost::send_webhook_answer(uint64_t token, const oemlink_http_response* response) {
  FrameWriter w(kWebhookRespond, 0);
  w.u64(token);
  oemlink_http_response empty{};
  empty.struct_size = sizeof empty;
  empty.status = OEMLINK_ERROR;
  put_http_response(w, response ? *response : empty);
  channel_.send(w);
}

void ChildHost::send_link_exchanged(uint64_t token, oemlink_status status, const oemlink_str* keys,
                                    const oemlink_str* values, size_t count, oemlink_str message) {
  FrameWriter w(kLinkExchanged, 0);
  w.u64(token).i32(status);
  put_pairs(w, keys, values, (keys && values) ? count : 0);
  w.str(message);
  channel_.send(w);
}

void ChildHost::send_link_vehicles(uint64_t token, oemlink_status status,
                                   const oemlink_link_vehicle* vehicles, size_t count,
                                   oemlink_str message) {
  FrameWriter w(kLinkVehicles, 0);
  w.u64(token).i32(status);
  put_link_vehicles(w, vehicles, vehicles ? count : 0);
  w.str(message);
  channel_.send(w);
}

}  // namespace oemlink::isolation
