// The Tesla driver: Fleet API polling per car and one driver-wide Fleet Telemetry stream (MQTT
// through the host's oemlink.mqtt/1 service). See README.md.
#include "driver_state.hpp"
#include "schnorr_p256.hpp"
#include "telemetry_config_jws.hpp"
#include "tesla_connection.hpp"
#include "tesla_linker.hpp"
#include "tesla_settings.hpp"

#include <oemlink/driver.hpp>

#include <memory>
#include <stdexcept>
#include <string>

namespace oemlink::tesla {
namespace {

class TeslaDriver final : public Driver {
 public:
  TeslaDriver(Host host, std::string_view settings_json)
      : state_(std::make_shared<DriverState>(host, parse_settings(settings_json))),
        linker_(host, state_->settings) {
    state_->start();
    const TeslaSettings& s = *state_->settings;
    if (s.telemetry_config_enabled) {
      std::string error;
      auto key = SchnorrP256Key::from_pem(s.telemetry_partner_key_pem, &error);
      if (!key) throw std::invalid_argument("tesla: telemetry partner key: " + error);
      auto target = std::make_shared<TelemetryConfigTarget>();
      target->config = build_telemetry_config(s);
      // Signed once: the config is the same for every car and carries no expiry.
      target->jws = sign_telemetry_config(target->config, *key);
      if (target->jws.empty())
        throw std::runtime_error("tesla: signing the telemetry config failed");
      state_->telemetry_target = std::move(target);
    }
  }

  ~TeslaDriver() override { stop_subscription(); }

  Linker* linker() override { return &linker_; }

  std::unique_ptr<Connection> open(ConnHandle conn, const ConnInfo& info) override {
    return std::make_unique<TeslaConnection>(state_, conn, info);
  }

  void stream_start(StreamEnded ended) override {
    const TeslaSettings& s = *state_->settings;
    const Host& host = state_->host;
    if (!s.streaming()) {
      ended(OEMLINK_ERROR, "tesla: no stream_broker_host configured; cars are only polled");
      return;
    }
    if (!host.has_mqtt()) {
      ended(OEMLINK_ERROR,
            "tesla: the host offers no oemlink.mqtt/1 service; cars are only polled");
      return;
    }
    stop_subscription();
    MqttSubscription sub;
    sub.host = s.stream_broker_host;
    sub.port = uint32_t(s.stream_broker_port);
    sub.client_id = s.stream_client_id;
    sub.username = s.stream_username;
    sub.password = s.stream_password;
    sub.ca_file = s.stream_ca_file;
    sub.cert_file = s.stream_cert_file;
    sub.key_file = s.stream_key_file;
    sub.topics = state_->mqtt_source.topic_filters();
    sub.qos = int(s.stream_qos);
    std::weak_ptr<DriverState> weak = state_;
    subscription_ = host.mqtt_subscribe(
        sub,
        [weak](std::string_view topic, std::string_view payload) {
          if (auto st = weak.lock()) st->on_stream_message(topic, payload);
        },
        [weak](bool connected, std::string_view message) {
          if (auto st = weak.lock()) st->on_stream_status(connected, message);
        });
    if (!subscription_) {
      ended(OEMLINK_ERROR, "tesla: the host refused the MQTT subscription (see its log)");
      return;
    }
    // The host reconnects the subscription itself; this stream only ends when stopped.
    ended_ = std::move(ended);
  }

  void stream_stop() override {
    stop_subscription();
    ended_.release();
    state_->batcher->flush_all();
  }

 private:
  void stop_subscription() {
    subscription_.reset();  // waits for a running callback
    state_->broker_up = false;
  }

  std::shared_ptr<DriverState> state_;
  TeslaLinker linker_;
  std::unique_ptr<MqttSubscriptionHandle> subscription_;
  StreamEnded ended_;
};

}  // namespace
}  // namespace oemlink::tesla

OEMLINK_DRIVER(oemlink::tesla::TeslaDriver, "tesla", "0.1.0",
               "Tesla Fleet API polling and Fleet Telemetry streaming (MQTT)",
               OEMLINK_CAP_POLL | OEMLINK_CAP_STREAM, oemlink::tesla::kSettingsTable)
