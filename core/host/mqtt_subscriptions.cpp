#include "core/host/mqtt_subscriptions.hpp"

#include "core/host/driver_call_frame.hpp"

#include <optional>

#include "core/common/log_fields.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstddef>
#include <exception>
#include <vector>

namespace oemlink::host {
namespace {

constexpr size_t kV1Size = offsetof(oemlink_mqtt_subscription, qos) + sizeof(int32_t);
constexpr size_t kMaxTopics = 1024;

std::string text(oemlink_str s) {
  return s.data ? std::string(s.data, s.size) : std::string();
}

// The driver's request as subscriber options, or `why` it is malformed at the ABI level (the
// subscriber's own check() judges the values).
bool to_options(const oemlink_mqtt_subscription& sub, const std::string& instance_name,
                net::MqttSubscriberOptions& o, std::string& why) {
  if (sub.struct_size < kV1Size) {
    why = "struct_size " + std::to_string(sub.struct_size) + " < " + std::to_string(kV1Size);
    return false;
  }
  if (sub.port > 65535) {
    why = "port " + std::to_string(sub.port) + " is not a TCP port";
    return false;
  }
  if (sub.keepalive_s > 65535) {
    why = "keepalive_s " + std::to_string(sub.keepalive_s) + " > 65535";
    return false;
  }
  if (sub.topic_count > kMaxTopics || (sub.topic_count && !sub.topics)) {
    why = sub.topics ? "more than " + std::to_string(kMaxTopics) + " topics" : "topics missing";
    return false;
  }
  o.host = text(sub.host);
  o.ca_file = text(sub.ca_file);
  o.cert_file = text(sub.cert_file);
  o.key_file = text(sub.key_file);
  o.port = static_cast<uint16_t>(sub.port ? sub.port : (o.ca_file.empty() ? 1883 : 8883));
  // libmosquitto refuses 1-4 s.
  o.keepalive_s =
      static_cast<uint16_t>(sub.keepalive_s ? std::max<uint32_t>(sub.keepalive_s, 5) : 30);
  o.client_id = text(sub.client_id);
  if (o.client_id.empty()) o.client_id = "oemlink-" + instance_name;
  o.username = text(sub.username);
  o.password = text(sub.password);
  for (size_t i = 0; i < sub.topic_count; ++i) o.topics.push_back(text(sub.topics[i]));
  o.qos = sub.qos;
  // QoS 1 asks for what was published while we were away: the broker keeps it for a session.
  o.persistent_session = sub.qos == 1;
  return true;
}

}  // namespace

MqttSubscriptions::MqttSubscriptions(MetricsRegistry& metrics, MqttBackoff backoff)
    : metrics_(metrics), backoff_(backoff) {}

MqttSubscriptions::~MqttSubscriptions() {
  end_all();
}

uint64_t MqttSubscriptions::subscribe(uint32_t instance, const std::string& instance_name,
                                      const oemlink_mqtt_subscription& sub,
                                      oemlink_mqtt_message_fn on_message,
                                      oemlink_mqtt_status_fn on_status, void* ctx, std::string& why,
                                      const DriverInstance* owner) {
  if (!on_message) {
    why = "no message callback";
    return 0;
  }
  net::MqttSubscriberOptions o;
  if (!to_options(sub, instance_name, o, why)) return 0;
  if (std::string problem = net::MqttSubscriber::check(o); !problem.empty()) {
    why = problem;
    return 0;
  }
  o.reconnect_min = backoff_.min;
  o.reconnect_max = backoff_.max;

  // The client id is reserved before the subscriber exists: two clients with one id would take
  // the session from each other on every connect.
  uint64_t id = 0;
  {
    std::lock_guard lock(mu_);
    if (closed_) {
      why = "the host is shutting down";
      return 0;
    }
    for (const auto& [other, e] : open_)
      if (e.client_id == o.client_id) {
        why = "client id '" + o.client_id + "' is already used by open subscription " +
              std::to_string(other) + "; give each subscription its own client_id";
        return 0;
      }
    id = next_id_++;
    open_.emplace(id, Entry{instance, o.client_id, nullptr});
  }

  Counter& received = metrics_.counter("oemlink_mqtt_messages_received_total",
                                       "Messages drivers' MQTT subscriptions received",
                                       {{"driver", instance_name}});
  Counter& losses = metrics_.counter("oemlink_mqtt_connection_losses_total",
                                     "Broker connections of drivers' subscriptions lost",
                                     {{"driver", instance_name}});
  auto message = [on_message, ctx, &received, owner](std::string_view topic,
                                                     std::string_view payload) {
    received.add();
    std::optional<DriverCallFrame> frame;
    if (owner) frame.emplace(*owner, "mqtt message");
    on_message(ctx, {topic.data(), topic.size()}, {payload.data(), payload.size()});
  };
  auto status = [on_status, ctx, &losses, instance_name, id, owner](bool connected,
                                                                    const std::string& msg) {
    // Reconnections are paced by the subscriber's back-off, so each is worth a line.
    const LogFields about{.driver = instance_name};
    if (connected) {
      log_with(about, spdlog::level::info, "driver {}: mqtt subscription {}: {}", instance_name, id,
               msg);
    } else {
      losses.add();
      log_with(about, spdlog::level::warn, "driver {}: mqtt subscription {}: {}; reconnecting",
               instance_name, id, msg);
    }
    if (!on_status) return;
    std::optional<DriverCallFrame> frame;
    if (owner) frame.emplace(*owner, "mqtt status");
    on_status(ctx, connected ? 1 : 0, {msg.data(), msg.size()});
  };
  std::string broker = o.host + ":" + std::to_string(o.port);
  bool tls = !o.ca_file.empty();
  bool persistent = o.persistent_session;
  size_t topics = o.topics.size();
  spdlog::info("driver {}: mqtt subscription {}: connecting to broker {} ({} topic(s), QoS {}{}{})",
               instance_name, id, broker, topics, sub.qos, persistent ? ", persistent session" : "",
               tls ? ", TLS" : "");
  std::unique_ptr<net::MqttSubscriber> subscriber;
  try {
    subscriber = std::make_unique<net::MqttSubscriber>(std::move(o), message, status);
  } catch (const std::exception& e) {
    std::lock_guard lock(mu_);
    open_.erase(id);
    why = e.what();
    return 0;
  }
  {
    std::lock_guard lock(mu_);
    auto it = open_.find(id);
    if (it != open_.end() && !closed_) {
      it->second.subscriber = std::move(subscriber);
      subscriber = nullptr;
    } else if (it != open_.end()) {
      open_.erase(it);
    }
  }
  if (subscriber) {  // ended while it was being set up (shutdown)
    subscriber->stop();
    why = "the host is shutting down";
    return 0;
  }
  return id;
}

bool MqttSubscriptions::unsubscribe(uint32_t instance, uint64_t id) {
  std::unique_ptr<net::MqttSubscriber> ending;
  {
    std::lock_guard lock(mu_);
    auto it = open_.find(id);
    if (it == open_.end() || it->second.instance != instance)
      return ended_by_host_.erase({instance, id}) > 0;
    ending = std::move(it->second.subscriber);
    open_.erase(it);
  }
  if (ending) ending->stop();  // outside the lock: it waits for a running callback
  return true;
}

size_t MqttSubscriptions::end_all_of(uint32_t instance) {
  std::vector<std::unique_ptr<net::MqttSubscriber>> ending;
  {
    std::lock_guard lock(mu_);
    for (auto it = open_.begin(); it != open_.end();) {
      if (it->second.instance != instance) {
        ++it;
        continue;
      }
      ended_by_host_.insert({instance, it->first});
      ending.push_back(std::move(it->second.subscriber));
      it = open_.erase(it);
    }
  }
  for (auto& s : ending)
    if (s) s->stop();
  return ending.size();
}

void MqttSubscriptions::end_all() {
  std::vector<std::unique_ptr<net::MqttSubscriber>> ending;
  {
    std::lock_guard lock(mu_);
    closed_ = true;
    for (auto& [id, e] : open_) {
      ended_by_host_.insert({e.instance, id});
      ending.push_back(std::move(e.subscriber));
    }
    open_.clear();
  }
  for (auto& s : ending)
    if (s) s->stop();
}

size_t MqttSubscriptions::open_count() const {
  std::lock_guard lock(mu_);
  return open_.size();
}

}  // namespace oemlink::host
