#include "driver_state.hpp"

#include <variant>

namespace oemlink::tesla {
namespace {
// Bad stream input is counted always and logged for the first few and then every 1000th, so a
// broker full of junk cannot flood the log.
constexpr uint64_t kLoggedBadInputs = 20;
}  // namespace

DriverState::DriverState(Host h, TeslaSettings s)
    : host(h),
      settings(std::make_shared<const TeslaSettings>(std::move(s))),
      mqtt_source(settings->stream_topic_base) {}

void DriverState::start() {
  std::weak_ptr<DriverState> weak = weak_from_this();
  batcher = std::make_shared<StreamBatcher>(host, settings->stream_batch_window_ms,
                                            [weak](const std::string& vin) -> ConnHandle {
                                              auto self = weak.lock();
                                              if (!self) return nullptr;
                                              auto car = self->cars.by_vin(vin);
                                              return car ? car->conn : nullptr;
                                            });
  partner = std::make_shared<PartnerToken>(host, settings);
  telemetry_errors = std::make_shared<TelemetryErrors>(host, settings, partner);
}

std::shared_ptr<TeslaAccount> DriverState::account(const std::string& name) {
  std::lock_guard lock(accounts_mu_);
  auto& slot = accounts_[name];
  if (!slot) slot = std::make_shared<TeslaAccount>(host, settings, name);
  return slot;
}

void DriverState::log_bad_input(const std::string& what) {
  const uint64_t n = ++bad_inputs_logged_;
  if (n <= kLoggedBadInputs || n % 1000 == 0)
    host.log(OEMLINK_LOG_WARN,
             "tesla: stream: " + what + " (bad stream input #" + std::to_string(n) + ")");
}

void DriverState::on_stream_status(bool connected, std::string_view message) {
  broker_up = connected;
  host.count(connected ? "stream_broker_connects" : "stream_broker_losses");
  host.log(connected ? OEMLINK_LOG_INFO : OEMLINK_LOG_WARN,
           std::string("tesla: stream broker ") + (connected ? "connected" : "lost") +
               (message.empty() ? "" : ": " + std::string(message)));
}

void DriverState::on_stream_message(std::string_view topic, std::string_view payload) {
  host.count("stream_messages");
  MqttRecord rec = mqtt_source.parse(topic, payload, host.now_ms());
  if (auto* d = std::get_if<TelemetryDatum>(&rec)) {
    on_datum(*d);
  } else if (auto* c = std::get_if<ConnectivityRecord>(&rec)) {
    on_connectivity(*c);
  } else {
    host.count("stream_parse_errors");
    log_bad_input(std::get<MqttParseError>(rec).what);
  }
}

void DriverState::on_connectivity(const ConnectivityRecord& record) {
  auto car = cars.by_vin(record.vin);
  if (!car) {
    host.count("stream_unknown_vins");
    return;
  }
  car->stream_connected = record.connected;
  car->stream_asleep = !record.connected;
  if (record.connected) car->last_stream_ms = record.time_ms;
  host.count(record.connected ? "stream_car_connects" : "stream_car_disconnects");
}

void DriverState::on_datum(const TelemetryDatum& datum) {
  auto car = cars.by_vin(datum.vin);
  if (!car) {
    host.count("stream_unknown_vins");
    return;
  }
  // A datum proves the car's socket is up, even if its CONNECTED record was missed.
  car->last_stream_ms = datum.time_ms;
  car->stream_connected = true;
  car->stream_asleep = false;
  std::vector<SignalReading> readings;
  const TelemetryMapResult r = field_mapper.map(datum, readings);
  switch (r.outcome) {
    case TelemetryMapResult::Outcome::mapped:
      batcher->add(datum.vin, std::move(readings));
      break;
    case TelemetryMapResult::Outcome::invalid_value:
      host.count("stream_invalid_values");
      break;
    case TelemetryMapResult::Outcome::unknown_field:
      host.count("stream_unmapped_fields");
      break;
    case TelemetryMapResult::Outcome::bad_value:
      host.count("stream_value_errors");
      log_bad_input(datum.vin + "/" + r.problem);
      break;
  }
}

}  // namespace oemlink::tesla
