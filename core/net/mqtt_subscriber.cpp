#include "core/net/mqtt_subscriber.hpp"

#include <mosquitto.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <fstream>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace oemlink::net {
namespace {

// How long one mosquitto_loop() may block: bounds how late the thread notices stop().
constexpr int kLoopTimeoutMs = 100;
constexpr size_t kMqttStringMax = 65535;  // MQTT's length prefix

void init_library_once() {
  static std::once_flag once;
  std::call_once(once, [] { mosquitto_lib_init(); });
}

std::string describe(int rc, int saved_errno) {
  if (rc == MOSQ_ERR_ERRNO) return std::strerror(saved_errno);
  return mosquitto_strerror(rc);
}

bool has_nul(const std::string& s) {
  return s.find('\0') != std::string::npos;
}

bool valid_utf8(const std::string& s) {
  return mosquitto_validate_utf8(s.data(), static_cast<int>(s.size())) == MOSQ_ERR_SUCCESS;
}

std::string unreadable(const std::string& field, const std::string& path) {
  std::ifstream in(path);
  if (in) return {};
  return field + " " + path + " cannot be read: " + std::strerror(errno);
}

}  // namespace

std::string MqttSubscriber::check(const MqttSubscriberOptions& o) {
  if (o.host.empty()) return "host is empty";
  if (has_nul(o.host)) return "host contains a NUL byte";
  if (o.port == 0) return "port is 0";
  // libmosquitto refuses 1-4 s, and 0 (no keepalive) would hide a dead link for good.
  if (o.keepalive_s < 5)
    return "keepalive_s " + std::to_string(o.keepalive_s) + " (must be 5-65535)";
  if (o.client_id.empty()) return "client_id is empty";
  if (o.client_id.size() > kMqttStringMax || has_nul(o.client_id) || !valid_utf8(o.client_id))
    return "client_id is not a valid MQTT string (UTF-8, no NUL, at most 65535 bytes)";
  if (o.username.size() > kMqttStringMax || has_nul(o.username) || !valid_utf8(o.username))
    return "username is not a valid MQTT string (UTF-8, no NUL, at most 65535 bytes)";
  if (o.password.size() > kMqttStringMax || has_nul(o.password))
    return "password is longer than 65535 bytes or contains a NUL byte";
  if (!o.password.empty() && o.username.empty()) return "a password needs a username";
  if (o.qos != 0 && o.qos != 1) return "qos " + std::to_string(o.qos) + " (must be 0 or 1)";
  if (o.topics.empty()) return "no topics";
  for (size_t i = 0; i < o.topics.size(); ++i) {
    const std::string& t = o.topics[i];
    std::string at = "topic " + std::to_string(i);
    if (t.empty()) return at + " is empty";
    if (t.size() > kMqttStringMax || has_nul(t) || !valid_utf8(t))
      return at + " is not a valid MQTT string (UTF-8, no NUL, at most 65535 bytes)";
    if (mosquitto_sub_topic_check2(t.data(), t.size()) != MOSQ_ERR_SUCCESS)
      return at + " '" + t +
             "' is not a valid topic filter ('+' and '#' must fill a whole level, '#' only last)";
  }
  if (o.cert_file.empty() != o.key_file.empty())
    return "a client certificate needs both cert_file and key_file";
  if (o.ca_file.empty() && !o.cert_file.empty())
    return "a client certificate needs TLS: set ca_file";
  for (const auto& [field, path] :
       {std::pair<const char*, const std::string&>{"ca_file", o.ca_file},
        {"cert_file", o.cert_file},
        {"key_file", o.key_file}}) {
    if (path.empty()) continue;
    if (has_nul(path)) return std::string(field) + " contains a NUL byte";
    if (std::string why = unreadable(field, path); !why.empty()) return why;
  }
  return {};
}

class MqttSubscriber::Impl : public std::enable_shared_from_this<Impl> {
 public:
  Impl(MqttSubscriberOptions o, OnMessage on_message, OnStatus on_status)
      : o_(std::move(o)),
        broker_(o_.host + ":" + std::to_string(o_.port)),
        on_message_(std::move(on_message)),
        on_status_(std::move(on_status)),
        delay_(o_.reconnect_min) {
    if (std::string why = check(o_); !why.empty()) throw std::invalid_argument(why);
    init_library_once();
    mosq_ = mosquitto_new(o_.client_id.c_str(), !o_.persistent_session, this);
    if (!mosq_)
      throw std::runtime_error("cannot create the MQTT client: " + describe(MOSQ_ERR_ERRNO, errno));
    mosquitto_threaded_set(mosq_, true);
    if (!o_.username.empty()) {
      int rc = mosquitto_username_pw_set(mosq_, o_.username.c_str(),
                                         o_.password.empty() ? nullptr : o_.password.c_str());
      if (rc != MOSQ_ERR_SUCCESS) fail_setup("cannot set the credentials: " + describe(rc, errno));
    }
    if (!o_.ca_file.empty()) {
      const char* cert = o_.cert_file.empty() ? nullptr : o_.cert_file.c_str();
      const char* key = o_.key_file.empty() ? nullptr : o_.key_file.c_str();
      int rc = mosquitto_tls_set(mosq_, o_.ca_file.c_str(), nullptr, cert, key, nullptr);
      if (rc != MOSQ_ERR_SUCCESS)
        fail_setup("TLS setup failed (ca_file " + o_.ca_file + "): " + describe(rc, errno));
      // A floor: TLS 1.0 and 1.1 are refused, 1.3 still allowed.
      rc = mosquitto_tls_opts_set(mosq_, 1 /* SSL_VERIFY_PEER */, "tlsv1.2", nullptr);
      if (rc != MOSQ_ERR_SUCCESS) fail_setup("TLS options refused: " + describe(rc, errno));
    }
    mosquitto_connect_with_flags_callback_set(mosq_, &Impl::on_connect);
    mosquitto_disconnect_callback_set(mosq_, &Impl::on_disconnect);
    mosquitto_subscribe_callback_set(mosq_, &Impl::on_subscribe);
    mosquitto_message_callback_set(mosq_, &Impl::on_message);
  }

  ~Impl() {
    if (mosq_) mosquitto_destroy(mosq_);
  }

  void start() {
    thread_ = std::thread([self = shared_from_this()] { self->run(); });
  }

  void stop() {
    {
      std::lock_guard lock(mu_);
      if (stop_) return;
      stop_ = true;
    }
    stopped_.store(true);
    cv_.notify_all();
    if (!thread_.joinable()) return;
    if (std::this_thread::get_id() == thread_.get_id()) {
      // Inside our own callback: the thread ends after it, holding us alive, and calls nobody.
      abandoned_.store(true);
      thread_.detach();
    } else
      thread_.join();
  }

  bool connected() const { return connected_.load(); }
  const std::string& broker() const { return broker_; }

 private:
  [[noreturn]] void fail_setup(const std::string& what) {
    mosquitto_destroy(mosq_);
    mosq_ = nullptr;
    throw std::runtime_error(what);
  }

  void run() {
    bool need_connect = true;
    while (!stopped_.load()) {
      if (need_connect) {
        attempt_refused_ = false;
        // connect_async (not reconnect_async) every time: it also redoes what a failed first
        // attempt may not have stored. The DNS lookup blocks this thread only.
        int rc = mosquitto_connect_async(mosq_, o_.host.c_str(), o_.port, o_.keepalive_s);
        if (rc != MOSQ_ERR_SUCCESS) {
          note_down(false, "cannot connect to broker " + broker_ + ": " + describe(rc, errno));
          back_off();
          continue;
        }
        need_connect = false;
      }
      if (force_reconnect_) {
        force_reconnect_ = false;
        mosquitto_disconnect(mosq_);
      }
      int rc = mosquitto_loop(mosq_, kLoopTimeoutMs, 1);
      if (rc != MOSQ_ERR_SUCCESS) {
        int saved = errno;
        if (connected_.exchange(false))
          note_down(true, "connection to broker " + broker_ + " lost: " + describe(rc, saved));
        else if (!attempt_refused_ && !down_reported_)
          note_down(false, "cannot connect to broker " + broker_ + ": " + describe(rc, saved));
        down_reported_ = false;
        need_connect = true;
        back_off();
      }
    }
    // No DISCONNECT and no further reads: each read would acknowledge messages that could then
    // only be dropped. The socket closes with the client (~Impl); the broker keeps a persistent
    // session, and re-sends what it sent but we never acknowledged.
    connected_ = false;
  }

  void back_off() {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, delay_, [this] { return stop_; });
    delay_ = std::min(delay_ * 2, o_.reconnect_max);
  }

  // Reports a loss once, and a broker that stays unreachable only when the reason changes.
  void note_down(bool was_connected, std::string reason) {
    down_reported_ = true;
    if (!was_connected && reason == last_error_) return;
    last_error_ = reason;
    status(false, reason);
  }

  void status(bool up, const std::string& message) {
    if (abandoned_.load() || !on_status_) return;
    on_status_(up, message);
  }

  static void on_connect(mosquitto* m, void* obj, int rc, int flags) {
    auto* self = static_cast<Impl*>(obj);
    if (rc != 0) {
      self->attempt_refused_ = true;
      self->note_down(false, "broker " + self->broker_ +
                                 " refused the connection: " + mosquitto_connack_string(rc));
      return;
    }
    self->session_resumed_ = (flags & 1) != 0;
    std::vector<char*> topics;
    for (std::string& t : self->o_.topics) topics.push_back(t.data());
    int sub_rc =
        mosquitto_subscribe_multiple(m, &self->subscribe_mid_, static_cast<int>(topics.size()),
                                     topics.data(), self->o_.qos, 0, nullptr);
    if (sub_rc != MOSQ_ERR_SUCCESS) {
      self->note_down(
          false, "cannot subscribe on broker " + self->broker_ + ": " + describe(sub_rc, errno));
      self->force_reconnect_ = true;
    }
  }

  static void on_subscribe(mosquitto*, void* obj, int mid, int count, const int* granted) {
    auto* self = static_cast<Impl*>(obj);
    if (mid != self->subscribe_mid_) return;
    for (int i = 0; i < count && i < static_cast<int>(self->o_.topics.size()); ++i) {
      if (granted[i] >= 0x80) {
        // Not authorised, most likely: try again later (the broker's ACL may change).
        self->note_down(false, "broker " + self->broker_ + " refused the subscription to '" +
                                   self->o_.topics[static_cast<size_t>(i)] + "'");
        self->force_reconnect_ = true;
        return;
      }
    }
    {
      std::lock_guard lock(self->mu_);
      self->delay_ = self->o_.reconnect_min;
    }
    self->last_error_.clear();
    self->down_reported_ = false;
    self->connected_ = true;
    self->status(true, "subscribed to " + std::to_string(self->o_.topics.size()) +
                           " topic(s) on broker " + self->broker_ +
                           (self->o_.persistent_session
                                ? (self->session_resumed_ ? " (session resumed)" : " (new session)")
                                : ""));
  }

  static void on_disconnect(mosquitto*, void* obj, int rc) {
    auto* self = static_cast<Impl*>(obj);
    int saved = errno;
    bool was_connected = self->connected_.exchange(false);
    if (self->stopped_.load() || self->attempt_refused_) return;
    if (was_connected)
      self->note_down(true, "connection to broker " + self->broker_ + " lost: " +
                                (rc == MOSQ_ERR_SUCCESS ? "closed" : describe(rc, saved)));
  }

  static void on_message(mosquitto*, void* obj, const mosquitto_message* msg) {
    auto* self = static_cast<Impl*>(obj);
    if (self->abandoned_.load() || !msg || !msg->topic) return;
    self->on_message_(std::string_view(msg->topic),
                      std::string_view(static_cast<const char*>(msg->payload),
                                       static_cast<size_t>(std::max(msg->payloadlen, 0))));
  }

  MqttSubscriberOptions o_;
  const std::string broker_;
  OnMessage on_message_;
  OnStatus on_status_;
  mosquitto* mosq_ = nullptr;

  // network thread only
  bool attempt_refused_ = false;
  bool down_reported_ = false;
  bool force_reconnect_ = false;
  bool session_resumed_ = false;
  int subscribe_mid_ = -1;
  std::string last_error_;

  std::atomic<bool> connected_{false};
  std::atomic<bool> stopped_{false};
  std::atomic<bool> abandoned_{false};  // stop() came from inside a callback
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;                   // guarded by mu_
  std::chrono::milliseconds delay_{0};  // guarded by mu_: the next back-off
  std::thread thread_;
};

MqttSubscriber::MqttSubscriber(MqttSubscriberOptions options, OnMessage on_message,
                               OnStatus on_status)
    : impl_(
          std::make_shared<Impl>(std::move(options), std::move(on_message), std::move(on_status))) {
  impl_->start();
}

MqttSubscriber::~MqttSubscriber() {
  stop();
}

void MqttSubscriber::stop() {
  impl_->stop();
}

bool MqttSubscriber::connected() const {
  return impl_->connected();
}

const std::string& MqttSubscriber::broker() const {
  return impl_->broker();
}

}  // namespace oemlink::net
