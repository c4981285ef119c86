#include "tools/bench/tesla_sim_mqtt.hpp"

#include <mosquitto.h>

#include <stdexcept>

namespace oemlink::bench {
namespace {
MqttBridge* g_bridge = nullptr;  // the service table's functions carry no context of their own
}

MqttBridge::MqttBridge() {
  if (g_bridge) throw std::logic_error("one MqttBridge at a time");
  g_bridge = this;
  mosquitto_lib_init();
  table_.struct_size = sizeof table_;
  table_.subscribe = &MqttBridge::subscribe;
  table_.unsubscribe = &MqttBridge::unsubscribe;
}

MqttBridge::~MqttBridge() {
  unsubscribe(nullptr, 1);
  g_bridge = nullptr;
  mosquitto_lib_cleanup();
}

uint64_t MqttBridge::received() const {
  std::lock_guard lock(mu_);
  return received_;
}

void MqttBridge::push(Item item) {
  std::lock_guard lock(mu_);
  if (!item.status) ++received_;
  queue_.push_back(std::move(item));
}

uint64_t MqttBridge::subscribe(const oemlink_host*, const oemlink_mqtt_subscription* sub,
                               oemlink_mqtt_message_fn on_message, oemlink_mqtt_status_fn on_status,
                               void* ctx) {
  MqttBridge& b = *g_bridge;
  if (b.mosq_) return 0;
  b.on_message_ = on_message;
  b.on_status_ = on_status;
  b.ctx_ = ctx;
  b.qos_ = sub->qos;
  b.topics_.clear();
  for (size_t i = 0; i < sub->topic_count; ++i)
    b.topics_.emplace_back(sub->topics[i].data, sub->topics[i].size);
  const std::string host(sub->host.data, sub->host.size);
  b.mosq_ = mosquitto_new(nullptr, true, &b);
  mosquitto_connect_callback_set(b.mosq_, [](mosquitto* m, void* self, int rc) {
    auto* me = static_cast<MqttBridge*>(self);
    if (rc != 0) return;
    for (const auto& t : me->topics_) mosquitto_subscribe(m, nullptr, t.c_str(), me->qos_);
    me->push(Item{true, 1, {}, {}});
  });
  mosquitto_disconnect_callback_set(b.mosq_, [](mosquitto*, void* self, int) {
    static_cast<MqttBridge*>(self)->push(Item{true, 0, {}, "broker connection lost"});
  });
  mosquitto_message_callback_set(b.mosq_, [](mosquitto*, void* self, const mosquitto_message* m) {
    static_cast<MqttBridge*>(self)->push(
        Item{false, 0, m->topic,
             std::string(static_cast<const char*>(m->payload), size_t(m->payloadlen))});
  });
  mosquitto_reconnect_delay_set(b.mosq_, 1, 5, false);
  if (mosquitto_connect_async(b.mosq_, host.c_str(), int(sub->port ? sub->port : 1883), 30) !=
          MOSQ_ERR_SUCCESS ||
      mosquitto_loop_start(b.mosq_) != MOSQ_ERR_SUCCESS) {
    mosquitto_destroy(b.mosq_);
    b.mosq_ = nullptr;
    return 0;
  }
  return 1;
}

void MqttBridge::unsubscribe(const oemlink_host*, uint64_t) {
  MqttBridge& b = *g_bridge;
  if (!b.mosq_) return;
  mosquitto_disconnect(b.mosq_);
  mosquitto_loop_stop(b.mosq_, false);
  mosquitto_destroy(b.mosq_);
  b.mosq_ = nullptr;
  std::lock_guard lock(b.mu_);
  b.queue_.clear();
  b.on_message_ = nullptr;
}

}  // namespace oemlink::bench
