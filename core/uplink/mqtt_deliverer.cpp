#include "core/uplink/mqtt_deliverer.hpp"

#include "core/uplink/mqtt_topic.hpp"

#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

namespace oemlink::uplink {

namespace {

using Clock = std::chrono::steady_clock;
using Kind = DeliveryResult::Kind;

// How long one mosquitto_loop() may block: bounds how late the network thread notices shutdown
// or a forced reconnect (publishes wake it at once through libmosquitto's socket pair).
constexpr int kLoopTimeoutMs = 100;
// Debian's hashed system CA directory: libmosquitto needs a file or a directory even when told
// to use the OS store.
constexpr const char* kSystemCaDir = "/etc/ssl/certs";

void init_library_once() {
  static std::once_flag once;
  std::call_once(once, [] { mosquitto_lib_init(); });
}

// libmosquitto reports MOSQ_ERR_* codes and MQTT v5 reason codes through the same int; reason
// codes that signal failure are >= 0x80, far above the library's own codes.
std::string describe(int rc, int saved_errno) {
  if (rc >= 0x80) return mosquitto_reason_string(rc);
  if (rc == MOSQ_ERR_ERRNO) return std::strerror(saved_errno);
  return mosquitto_strerror(rc);
}

}  // namespace

class MqttDeliverer::Impl : public std::enable_shared_from_this<Impl> {
 public:
  Impl(std::string name, const config::MqttSinkConfig& cfg, boost::asio::io_context& loop,
       MqttDelivererOptions options)
      : name_(std::move(name)),
        cfg_(cfg),
        options_(options),
        broker_(cfg.host + ":" + std::to_string(cfg.port)),
        loop_(loop),
        timer_(loop),
        delay_(options.reconnect_min) {
    init_library_once();
    std::string client_id = cfg.client_id.empty() ? "oemlink-" + name_ : cfg.client_id;
    // clean_session=false: the broker may keep our session, and libmosquitto re-sends its
    // unacknowledged QoS 1 messages after a reconnect instead of forgetting them.
    mosq_ = mosquitto_new(client_id.c_str(), false, this);
    if (!mosq_) fail_setup("cannot create the MQTT client: " + describe(MOSQ_ERR_ERRNO, errno));
    mosquitto_threaded_set(mosq_, true);
    mosquitto_int_option(mosq_, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
    mosquitto_int_option(mosq_, MOSQ_OPT_TCP_NODELAY, 1);
    mosquitto_max_inflight_messages_set(mosq_, std::max<uint32_t>(cfg.max_in_flight, 1));
    if (!cfg.username.empty() || !cfg.password.empty()) {
      int rc =
          mosquitto_username_pw_set(mosq_, cfg.username.empty() ? nullptr : cfg.username.c_str(),
                                    cfg.password.empty() ? nullptr : cfg.password.c_str());
      if (rc != MOSQ_ERR_SUCCESS) fail_setup("cannot set credentials: " + describe(rc, errno));
    }
    if (cfg.uses_tls()) {
      const char* ca = cfg.ca_file.empty() ? nullptr : cfg.ca_file.c_str();
      const char* cert = cfg.client_cert.empty() ? nullptr : cfg.client_cert.c_str();
      const char* key = cfg.client_key.empty() ? nullptr : cfg.client_key.c_str();
      // Without a ca_file the broker's certificate is checked against the system store.
      if (!ca) mosquitto_int_option(mosq_, MOSQ_OPT_TLS_USE_OS_CERTS, 1);
      int rc = mosquitto_tls_set(mosq_, ca, ca ? nullptr : kSystemCaDir, cert, key, nullptr);
      if (rc != MOSQ_ERR_SUCCESS)
        fail_setup("TLS setup failed (ca_file " + (ca ? cfg.ca_file : "system store") +
                   "): " + describe(rc, errno));
      // "tlsv1.2" is a floor: libmosquitto then refuses TLS 1.0 and 1.1 and still allows 1.3.
      rc = mosquitto_tls_opts_set(mosq_, 1 /* SSL_VERIFY_PEER */, "tlsv1.2", nullptr);
      if (rc != MOSQ_ERR_SUCCESS) fail_setup("TLS options refused: " + describe(rc, errno));
    } else if (!cfg.client_cert.empty() || !cfg.client_key.empty()) {
      fail_setup("client_cert/client_key need TLS (tls: true or ca_file)");
    }
    mosquitto_connect_v5_callback_set(mosq_, &Impl::on_connect);
    mosquitto_disconnect_v5_callback_set(mosq_, &Impl::on_disconnect);
    mosquitto_publish_v5_callback_set(mosq_, &Impl::on_publish);
  }

  ~Impl() {
    if (mosq_) mosquitto_destroy(mosq_);
  }

  // Separate from the constructor: the network thread posts through weak_from_this().
  void start() {
    spdlog::info("mqtt sink {}: connecting to broker {} (MQTT v5, QoS 1{})", name_, broker_,
                 cfg_.uses_tls() ? ", TLS" : ", no TLS");
    thread_ = std::thread([this] { run(); });
  }

  bool connected() const { return connected_.load(); }

  void deliver(const store::OutboxRecord& record, DeliveryDone done) {
    if (closed_) {
      // After shutdown nothing may arrive later, so answer now.
      done(DeliveryResult{Kind::retry, "mqtt sink " + name_ + " is shut down", {}});
      return;
    }
    auto topic = expand_topic(cfg_.topic, record.connection_id, record.json);
    if (auto* err = std::get_if<TopicError>(&topic)) {
      finish_later(std::move(done), Kind::rejected, "mqtt sink " + name_ + ": " + err->reason);
      return;
    }
    // A connection we are about to drop for an overdue PUBACK is not worth publishing on.
    if (!connected_ || force_reconnect_) {
      finish_later(std::move(done), Kind::retry,
                   "mqtt sink " + name_ + ": not connected to broker " + broker_ + " (" +
                       last_error() + ")");
      return;
    }
    if (record.json.size() > static_cast<size_t>(INT_MAX)) {
      finish_later(std::move(done), Kind::rejected, "mqtt sink " + name_ + ": event too large");
      return;
    }
    // Read before publishing: if the connection turns over meanwhile, the message counts as
    // sent on the old one and is retried rather than waiting out the PUBACK timeout.
    uint64_t epoch = epoch_.load();
    int mid = 0;
    int rc = mosquitto_publish_v5(mosq_, &mid, std::get<std::string>(topic).c_str(),
                                  static_cast<int>(record.json.size()), record.json.data(), 1,
                                  false, nullptr);
    if (rc != MOSQ_ERR_SUCCESS) {
      int saved_errno = errno;
      // These depend on the event or its topic, not on the broker's mood: retrying cannot help.
      bool permanent = rc == MOSQ_ERR_OVERSIZE_PACKET || rc == MOSQ_ERR_PAYLOAD_SIZE ||
                       rc == MOSQ_ERR_MALFORMED_UTF8;
      finish_later(std::move(done), permanent ? Kind::rejected : Kind::retry,
                   "mqtt sink " + name_ + ": publish to broker " + broker_ +
                       " failed: " + describe(rc, saved_errno));
      return;
    }
    uint64_t token = next_token_++;
    pending_.emplace(token,
                     Pending{std::move(done), mid, epoch, Clock::now() + options_.publish_timeout});
    // libmosquitto's 16-bit message ids wrap; an entry still mapped to a reused id just loses
    // its mapping and ends by timeout.
    by_mid_[mid] = token;
    arm_timer();
  }

  void shutdown() {
    if (closed_) return;
    closed_ = true;
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
    connected_ = false;
    timer_.cancel();
    size_t failed = fail_where([](const Pending&) { return true; },
                               "mqtt sink " + name_ + " shut down before the broker confirmed");
    spdlog::info("mqtt sink {}: shut down ({} in flight returned for retry)", name_, failed);
  }

 private:
  struct Pending {
    DeliveryDone done;
    int mid = -1;  // -1: result already decided, waiting for its turn on the loop
    uint64_t epoch = 0;
    Clock::time_point deadline;
  };

  [[noreturn]] void fail_setup(const std::string& what) {
    if (mosq_) mosquitto_destroy(mosq_);
    mosq_ = nullptr;
    throw std::runtime_error("mqtt sink " + name_ + " (broker " + broker_ + "): " + what);
  }

  // ---- host loop thread ----

  // Posting even a known answer keeps deliver() free of re-entrancy, and parking the done in
  // pending_ meanwhile lets shutdown() answer it if it comes first.
  void finish_later(DeliveryDone done, Kind kind, std::string detail) {
    uint64_t token = next_token_++;
    pending_.emplace(token, Pending{std::move(done), -1, 0, Clock::time_point::max()});
    on_loop([token, kind, detail = std::move(detail)](Impl& self) {
      self.complete(token, DeliveryResult{kind, detail, {}});
    });
  }

  void complete(uint64_t token, DeliveryResult result) {
    auto it = pending_.find(token);
    if (it == pending_.end()) return;  // already answered (timeout, disconnect, shutdown)
    DeliveryDone done = std::move(it->second.done);
    if (it->second.mid >= 0) {
      auto m = by_mid_.find(it->second.mid);
      if (m != by_mid_.end() && m->second == token) by_mid_.erase(m);
    }
    pending_.erase(it);
    done(std::move(result));  // may call deliver() again: all bookkeeping is done
  }

  void on_ack(int mid, int reason) {
    auto m = by_mid_.find(mid);
    if (m == by_mid_.end()) return;  // late PUBACK for something already returned for retry
    uint64_t token = m->second;
    if (reason == MQTT_RC_SUCCESS || reason == MQTT_RC_NO_MATCHING_SUBSCRIBERS) {
      complete(token, DeliveryResult{Kind::delivered, {}, {}});
      return;
    }
    // Refusals about this very message stay refusals; the rest (not authorized, quota) are the
    // broker's configuration or load and may change.
    bool permanent =
        reason == MQTT_RC_PAYLOAD_FORMAT_INVALID || reason == MQTT_RC_TOPIC_NAME_INVALID;
    complete(token, DeliveryResult{permanent ? Kind::rejected : Kind::retry,
                                   "mqtt sink " + name_ + ": broker " + broker_ +
                                       " refused the message: " + mosquitto_reason_string(reason),
                                   {}});
  }

  // Collects first, then calls: a done may re-enter deliver() and change pending_.
  template <typename Pred>
  size_t fail_where(Pred pred, const std::string& detail) {
    std::vector<DeliveryDone> dones;
    for (auto it = pending_.begin(); it != pending_.end();) {
      if (!pred(it->second)) {
        ++it;
        continue;
      }
      if (it->second.mid >= 0) {
        auto m = by_mid_.find(it->second.mid);
        if (m != by_mid_.end() && m->second == it->first) by_mid_.erase(m);
      }
      dones.push_back(std::move(it->second.done));
      it = pending_.erase(it);
    }
    for (auto& done : dones) done(DeliveryResult{Kind::retry, detail, {}});
    return dones.size();
  }

  void on_connection_lost(uint64_t epoch, const std::string& reason) {
    fail_where([epoch](const Pending& p) { return p.mid >= 0 && p.epoch <= epoch; },
               "mqtt sink " + name_ + ": " + reason + " before the broker confirmed");
  }

  void arm_timer() {
    if (timer_armed_) return;
    Clock::time_point next = Clock::time_point::max();
    for (const auto& [token, p] : pending_)
      if (p.mid >= 0) next = std::min(next, p.deadline);
    if (next == Clock::time_point::max()) return;
    timer_armed_ = true;
    timer_.expires_at(next);
    timer_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
      auto self = weak.lock();
      if (!self) return;
      self->timer_armed_ = false;
      if (ec || self->closed_) return;
      self->on_timer();
    });
  }

  void on_timer() {
    Clock::time_point now = Clock::now();
    size_t expired =
        fail_where([now](const Pending& p) { return p.mid >= 0 && p.deadline <= now; },
                   "mqtt sink " + name_ + ": no PUBACK from broker " + broker_ + " within " +
                       std::to_string(options_.publish_timeout.count()) + " ms");
    if (expired > 0 && connected_) {
      // A healthy broker answers in milliseconds; a connection that swallows PUBACKs is stuck,
      // and a fresh one makes libmosquitto re-send what is outstanding.
      spdlog::warn("mqtt sink {}: {} PUBACK(s) overdue from broker {}; reconnecting", name_,
                   expired, broker_);
      force_reconnect_ = true;
    }
    arm_timer();
  }

  template <typename F>
  void on_loop(F f) {
    boost::asio::post(loop_, [weak = weak_from_this(), f = std::move(f)]() mutable {
      auto self = weak.lock();
      if (self && !self->closed_) f(*self);
    });
  }

  std::string last_error() {
    std::lock_guard lock(mu_);
    return last_error_.empty() ? "connecting" : last_error_;
  }

  // ---- network thread ----

  void run() {
    bool first = true;
    bool need_connect = true;
    while (!stopping()) {
      if (need_connect) {
        attempt_refused_ = false;
        int rc = first ? mosquitto_connect_async(mosq_, cfg_.host.c_str(),
                                                 static_cast<int>(cfg_.port), keepalive_seconds())
                       : mosquitto_reconnect_async(mosq_);
        first = false;
        if (rc != MOSQ_ERR_SUCCESS) {
          note_down(false, "cannot connect to broker " + broker_ + ": " + describe(rc, errno));
          back_off();
          continue;
        }
        need_connect = false;
      }
      if (force_reconnect_.exchange(false)) {
        closing_why_ = "closed by us after an overdue PUBACK";
        mosquitto_disconnect(mosq_);
      }
      int rc = mosquitto_loop(mosq_, kLoopTimeoutMs, 1);
      if (rc != MOSQ_ERR_SUCCESS) {
        // Read/write errors already went through on_disconnect; this catches the rest (keepalive,
        // the socket already closed) without logging twice.
        if (connected_)
          note_down(true, "connection to broker " + broker_ + " lost: " + describe(rc, errno));
        need_connect = true;
        back_off();
      }
    }
    // Say goodbye so the broker does not wait out our keepalive; bounded, as it may be gone.
    closing_why_ = "shutting down";
    if (!need_connect && mosquitto_disconnect(mosq_) == MOSQ_ERR_SUCCESS) {
      for (int i = 0; i < 5 && mosquitto_loop(mosq_, kLoopTimeoutMs, 1) == MOSQ_ERR_SUCCESS; ++i) {
      }
    }
    connected_ = false;
  }

  int keepalive_seconds() const {
    // MQTT allows 0 (off); libmosquitto refuses 1-4 s.
    auto s = std::chrono::duration_cast<std::chrono::seconds>(cfg_.keepalive).count();
    return static_cast<int>(std::clamp<int64_t>(s, 5, 65535));
  }

  bool stopping() {
    std::lock_guard lock(mu_);
    return stop_;
  }

  void back_off() {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, delay_, [this] { return stop_; });
    delay_ = std::min(delay_ * 2, options_.reconnect_max);
  }

  // Logs only changes, so a broker that stays down costs one line, not one per attempt.
  void note_down(bool was_connected, std::string reason) {
    bool changed;
    {
      std::lock_guard lock(mu_);
      changed = reason != last_error_;
      last_error_ = reason;
    }
    if (was_connected || changed) spdlog::warn("mqtt sink {}: {}", name_, reason);
    uint64_t epoch = epoch_.load();
    on_loop([epoch, reason = std::move(reason)](Impl& self) {
      self.on_connection_lost(epoch, reason);
    });
  }

  static void on_connect(mosquitto*, void* obj, int rc, int flags, const mosquitto_property*) {
    auto* self = static_cast<Impl*>(obj);
    if (rc != 0) {
      self->attempt_refused_ = true;
      self->note_down(false,
                      "broker " + self->broker_ + " refused the connection: " + describe(rc, 0));
      return;
    }
    {
      std::lock_guard lock(self->mu_);
      self->last_error_.clear();
      self->delay_ = self->options_.reconnect_min;
    }
    ++self->epoch_;
    self->connected_ = true;
    spdlog::info("mqtt sink {}: connected to broker {} (session {})", self->name_, self->broker_,
                 (flags & 1) ? "resumed" : "new");
  }

  static void on_disconnect(mosquitto*, void* obj, int rc, const mosquitto_property*) {
    auto* self = static_cast<Impl*>(obj);
    int saved_errno = errno;
    bool was_connected = self->connected_.exchange(false);
    if (self->attempt_refused_ && !was_connected) return;  // on_connect said why
    if (rc == MOSQ_ERR_SUCCESS && self->closing_why_ == "shutting down") {
      spdlog::info("mqtt sink {}: disconnected from broker {}", self->name_, self->broker_);
      return;  // shutdown() answers whatever is in flight
    }
    std::string why = rc == MOSQ_ERR_SUCCESS ? self->closing_why_ : describe(rc, saved_errno);
    self->note_down(was_connected, was_connected
                                       ? "connection to broker " + self->broker_ + " lost: " + why
                                       : "cannot connect to broker " + self->broker_ + ": " + why);
  }

  static void on_publish(mosquitto*, void* obj, int mid, int reason, const mosquitto_property*) {
    static_cast<Impl*>(obj)->on_loop([mid, reason](Impl& self) { self.on_ack(mid, reason); });
  }

  const std::string name_;
  const config::MqttSinkConfig cfg_;
  const MqttDelivererOptions options_;
  const std::string broker_;  // host:port, for every message about the connection
  boost::asio::io_context& loop_;
  mosquitto* mosq_ = nullptr;

  // host loop thread only
  std::unordered_map<uint64_t, Pending> pending_;  // every done not yet called, by token
  std::unordered_map<int, uint64_t> by_mid_;       // message id -> token, for PUBACKs
  uint64_t next_token_ = 1;
  boost::asio::steady_timer timer_;
  bool timer_armed_ = false;
  bool closed_ = false;

  // network thread only
  bool attempt_refused_ = false;
  std::string closing_why_ = "closed by us";  // for the disconnects we ask for

  // shared
  std::atomic<bool> connected_{false};
  std::atomic<uint64_t> epoch_{0};  // bumped on every accepted CONNECT
  std::atomic<bool> force_reconnect_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;                   // guarded by mu_
  std::string last_error_;              // guarded by mu_
  std::chrono::milliseconds delay_{0};  // guarded by mu_: next back-off
  std::thread thread_;
};

MqttDeliverer::MqttDeliverer(std::string sink_name, const config::MqttSinkConfig& cfg,
                             boost::asio::io_context& loop, MqttDelivererOptions options)
    : name_(std::move(sink_name)),
      max_in_flight_(std::max<uint32_t>(cfg.max_in_flight, 1)),
      impl_(std::make_shared<Impl>(name_, cfg, loop, options)) {
  impl_->start();
}

MqttDeliverer::~MqttDeliverer() {
  impl_->shutdown();
}

void MqttDeliverer::deliver(const store::OutboxRecord& record, DeliveryDone done) {
  impl_->deliver(record, std::move(done));
}

void MqttDeliverer::shutdown() {
  impl_->shutdown();
}

bool MqttDeliverer::connected() const {
  return impl_->connected();
}

}  // namespace oemlink::uplink
