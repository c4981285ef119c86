// What one Tesla driver instance shares between its connections and its driver-wide stream:
// settings, accounts (token chains) by name, the VIN registry, the stream's batcher and the
// telemetry config target. Held by shared_ptr so late host callbacks find it or nothing.
#ifndef OEMLINK_TESLA_DRIVER_STATE_HPP
#define OEMLINK_TESLA_DRIVER_STATE_HPP

#include "car_registry.hpp"
#include "mqtt_telemetry_source.hpp"
#include "partner_token.hpp"
#include "stream_batcher.hpp"
#include "telemetry_config_sync.hpp"
#include "telemetry_errors.hpp"
#include "telemetry_field_mapper.hpp"
#include "tesla_account.hpp"
#include "tesla_settings.hpp"

#include <oemlink/driver.hpp>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace oemlink::tesla {

class DriverState : public std::enable_shared_from_this<DriverState> {
 public:
  DriverState(Host host, TeslaSettings settings);
  // Builds what needs shared_from_this (the batcher's lookup).
  void start();

  Host host;
  std::shared_ptr<const TeslaSettings> settings;
  CarRegistry cars;
  std::shared_ptr<StreamBatcher> batcher;
  std::atomic<bool> broker_up{false};
  std::shared_ptr<const TelemetryConfigTarget> telemetry_target;  // null: config sync disabled
  std::shared_ptr<PartnerToken> partner;
  std::shared_ptr<TelemetryErrors> telemetry_errors;
  MqttTelemetrySource mqtt_source;
  TelemetryFieldMapper field_mapper;

  // The account called `name`, created on first use.
  std::shared_ptr<TeslaAccount> account(const std::string& name);

  // The MQTT service's callbacks (host's MQTT thread).
  void on_stream_message(std::string_view topic, std::string_view payload);
  void on_stream_status(bool connected, std::string_view message);
  // The source-independent step: a datum from any transport to the car's batch.
  void on_datum(const TelemetryDatum& datum);
  void on_connectivity(const ConnectivityRecord& record);

 private:
  void log_bad_input(const std::string& what);
  std::mutex accounts_mu_;
  std::map<std::string, std::shared_ptr<TeslaAccount>> accounts_;
  std::atomic<uint64_t> bad_inputs_logged_{0};
};

}  // namespace oemlink::tesla

#endif
