// MQTT sink: publishes each stored CloudEvent, byte for byte, at QoS 1 and reports delivered on
// the broker's PUBACK. Unlike Tesla fleet-telemetry's dispatcher (QoS 0, no TLS), an event only
// leaves the outbox once the broker has taken responsibility for it.
//
// One libmosquitto client (MQTT v5, so a PUBACK can carry a refusal such as "not authorized"
// instead of silently dropping the message) with a stable client id and a non-clean session.
// A network thread owned by this object runs the client and reconnects with exponential
// back-off; results are posted to the host loop. Anything unconfirmed when the connection drops,
// when a PUBACK is overdue, or at shutdown is reported as retry: the outbox still holds it, and
// the broker may see it twice (event ids are stable, so consumers can de-duplicate).
#pragma once

#include "core/config/config.hpp"
#include "core/uplink/event_deliverer.hpp"

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <memory>
#include <string>

namespace oemlink::uplink {

// Knobs that are not (yet) in the sink's configuration.
struct MqttDelivererOptions {
  std::chrono::milliseconds publish_timeout{30'000};  // PUBACK overdue: retry and reconnect
  std::chrono::milliseconds reconnect_min{500};       // first back-off step after a failure
  std::chrono::milliseconds reconnect_max{30'000};    // back-off cap
};

class MqttDeliverer final : public EventDeliverer {
 public:
  // Starts connecting at once (asynchronously). Throws std::runtime_error naming the sink when
  // the client cannot be set up (unreadable TLS files, client_cert without ca_file).
  MqttDeliverer(std::string sink_name, const config::MqttSinkConfig& cfg,
                boost::asio::io_context& loop, MqttDelivererOptions options = {});
  ~MqttDeliverer() override;  // shuts down if shutdown() was not called

  MqttDeliverer(const MqttDeliverer&) = delete;
  MqttDeliverer& operator=(const MqttDeliverer&) = delete;

  std::string_view name() const override { return name_; }
  size_t max_in_flight() const override { return max_in_flight_; }
  void deliver(const store::OutboxRecord& record, DeliveryDone done) override;
  void shutdown() override;

  // Whether the broker has accepted our CONNECT and the connection is up (any thread).
  bool connected() const;

 private:
  class Impl;
  std::string name_;
  size_t max_in_flight_;
  std::shared_ptr<Impl> impl_;  // shared so handlers already posted to the loop can outlive us
};

}  // namespace oemlink::uplink
