// MqttSubscriptions: the host side of the `oemlink.mqtt/1` service. It turns a driver's
// oemlink_mqtt_subscription into a net::MqttSubscriber, keeps every open one by id and owning
// instance, counts messages (`oemlink_mqtt_messages_received_total{driver}`) and connection
// losses (`oemlink_mqtt_connection_losses_total{driver}`), logs connects and losses (never a
// password), and ends an instance's subscriptions before its destroy().
//
// Threading: every method may be called from any thread. The registry lock is never held while
// a subscriber is stopped, so an unsubscribe that races the subscription's callback (which may
// itself call into the host) cannot deadlock here.
#pragma once

#include "core/common/metrics.hpp"
#include "core/net/mqtt_subscriber.hpp"

#include <oemlink/driver.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

namespace oemlink::host {

struct DriverInstance;

// Reconnect back-off of every subscription (tests shorten it).
struct MqttBackoff {
  std::chrono::milliseconds min{500};
  std::chrono::milliseconds max{30'000};
};

class MqttSubscriptions {
 public:
  explicit MqttSubscriptions(MetricsRegistry& metrics, MqttBackoff backoff = {});
  ~MqttSubscriptions();  // end_all()

  MqttSubscriptions(const MqttSubscriptions&) = delete;
  MqttSubscriptions& operator=(const MqttSubscriptions&) = delete;

  // Starts `sub` for the driver instance `instance` (named `instance_name`). Returns the
  // subscription's id, or 0 with `why` set (naming the field at fault, never the password).
  // With `owner`, its callbacks run inside a DriverCallFrame naming it (a crash in the driver's
  // message handler is reported as that driver's).
  uint64_t subscribe(uint32_t instance, const std::string& instance_name,
                     const oemlink_mqtt_subscription& sub, oemlink_mqtt_message_fn on_message,
                     oemlink_mqtt_status_fn on_status, void* ctx, std::string& why,
                     const DriverInstance* owner = nullptr);

  // Ends subscription `id` of `instance`; when this returns none of its callbacks is running or
  // will run. False when `id` is not an open subscription of that instance. An id the host
  // already ended (end_all_of) is accepted once more, quietly: the driver's own handle still
  // unsubscribes as it is destroyed.
  bool unsubscribe(uint32_t instance, uint64_t id);

  // Ends every subscription of `instance` (before its destroy()); returns how many.
  size_t end_all_of(uint32_t instance);
  // No new subscriptions from here on; every open one ends.
  void end_all();

  size_t open_count() const;

 private:
  struct Entry {
    uint32_t instance;
    std::string client_id;
    std::unique_ptr<net::MqttSubscriber> subscriber;
  };

  MetricsRegistry& metrics_;
  const MqttBackoff backoff_;
  mutable std::mutex mu_;
  bool closed_ = false;                                    // guarded by mu_
  uint64_t next_id_ = 1;                                   // guarded by mu_
  std::map<uint64_t, Entry> open_;                         // guarded by mu_
  std::set<std::pair<uint32_t, uint64_t>> ended_by_host_;  // guarded by mu_
};

}  // namespace oemlink::host
