// An `oemlink.mqtt/1` service for a FakeHost: a real libmosquitto subscription whose messages
// are queued on libmosquitto's thread and handed to the driver on the caller's thread by
// deliver() (FakeHost is single-threaded), each at the virtual time the caller sets first.
// Benchmark tooling only (tools/bench).
#pragma once

#include <oemlink/driver.h>

#include <deque>
#include <mutex>
#include <string>
#include <vector>

struct mosquitto;

namespace oemlink::bench {

class MqttBridge {
 public:
  MqttBridge();
  ~MqttBridge();
  MqttBridge(const MqttBridge&) = delete;
  MqttBridge& operator=(const MqttBridge&) = delete;

  // The service table to put into FakeHost::services[OEMLINK_SERVICE_MQTT]. One bridge serves
  // one subscription at a time.
  const oemlink_mqtt_service* table() const { return &table_; }
  // Runs the driver's callbacks for everything received so far; returns how many messages.
  // `before_each` runs before each one (to set the host's clock).
  template <class F>
  size_t deliver(F before_each) {
    std::deque<Item> items;
    {
      std::lock_guard lock(mu_);
      items.swap(queue_);
    }
    size_t messages = 0;
    for (const Item& it : items) {
      if (!on_message_) break;
      before_each();
      if (it.status) {
        on_status_(ctx_, it.connected, {it.payload.data(), it.payload.size()});
      } else {
        on_message_(ctx_, {it.topic.data(), it.topic.size()},
                    {it.payload.data(), it.payload.size()});
        ++messages;
      }
    }
    return messages;
  }
  uint64_t received() const;

 private:
  struct Item {
    bool status = false;
    int connected = 0;
    std::string topic, payload;
  };
  static uint64_t subscribe(const oemlink_host*, const oemlink_mqtt_subscription* sub,
                            oemlink_mqtt_message_fn on_message, oemlink_mqtt_status_fn on_status,
                            void* ctx);
  static void unsubscribe(const oemlink_host*, uint64_t id);
  void push(Item item);

  oemlink_mqtt_service table_{};
  mosquitto* mosq_ = nullptr;
  std::vector<std::string> topics_;
  int qos_ = 0;
  oemlink_mqtt_message_fn on_message_ = nullptr;
  oemlink_mqtt_status_fn on_status_ = nullptr;
  void* ctx_ = nullptr;
  mutable std::mutex mu_;
  std::deque<Item> queue_;
  uint64_t received_ = 0;
};

}  // namespace oemlink::bench
