// Publishes each car's simulated day to an MQTT broker exactly as fleet-telemetry's MQTT
// dispatcher does (shared/spec/oem-apis.md): `<base>/<VIN>/v/<Field>` with the bare JSON value
// and no timestamp, `<base>/<VIN>/connectivity` {"ConnectionId","Status","CreatedAt"} when a car
// connects or disconnects. A car sends a field when it changed by more than minimum_delta and
// at most once per interval_seconds, taken from its posted telemetry config, else defaults.
#pragma once

#include "tools/mock-oem/tesla/billing.hpp"
#include "tools/mock-oem/tesla/fleet.hpp"
#include "tools/mock-oem/tesla/tesla_options.hpp"

#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

struct mosquitto;

namespace oemlink::mock_oem::tesla {

class TelemetryPublisher {
 public:
  TelemetryPublisher(const MqttOptions& options, Fleet& fleet, Billing& billing);
  ~TelemetryPublisher();  // stop()
  TelemetryPublisher(const TelemetryPublisher&) = delete;
  TelemetryPublisher& operator=(const TelemetryPublisher&) = delete;

  // Connects (retrying in the background) and starts the simulation thread.
  void start();
  // Publishes DISCONNECTED for connected cars, then disconnects.
  void stop();

 private:
  struct CarStream;
  void run();
  void tick(double sim_now);
  void publish(const std::string& topic, const std::string& payload);
  void connectivity(CarStream& car, bool connected);
  static void on_connect(mosquitto*, void* self, int rc);
  static void on_disconnect(mosquitto*, void* self, int rc);

  MqttOptions options_;
  Fleet& fleet_;
  Billing& billing_;
  mosquitto* mosq_ = nullptr;
  std::vector<std::unique_ptr<CarStream>> cars_;
  double sim_start_ = 0;
  std::chrono::steady_clock::time_point real_start_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool connected_ = false;
  bool started_ = false;
};

}  // namespace oemlink::mock_oem::tesla
