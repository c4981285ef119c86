// CarRegistry: the open connections by VIN, for the driver-wide stream (records name a VIN,
// the host wants a connection), with each car's stream liveness. Any thread.
#ifndef OEMLINK_TESLA_CAR_REGISTRY_HPP
#define OEMLINK_TESLA_CAR_REGISTRY_HPP

#include <oemlink/driver.hpp>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace oemlink::tesla {

struct CarState {
  ConnHandle conn = nullptr;
  std::string connection_id;
  std::string vin;
  std::string tesla_id;
  // Stream liveness: the last record (datum or CONNECTED) and whether the car's socket to the
  // fleet-telemetry server is up as far as connectivity records tell.
  std::atomic<int64_t> last_stream_ms{0};
  std::atomic<bool> stream_connected{false};
  // Asleep as far as the stream can tell: its last connectivity record was DISCONNECTED (or the
  // vehicle list said asleep while a stream was expected). A car reconnects to Fleet Telemetry
  // when it wakes, so until a record arrives nothing needs asking (README: cost policy).
  std::atomic<bool> stream_asleep{false};

  // Live: the broker is reachable, the car is connected and sent something recently.
  bool stream_live(int64_t now_ms, int64_t stale_after_ms, bool broker_up) const {
    return broker_up && stream_connected.load() && now_ms - last_stream_ms.load() < stale_after_ms;
  }
  // The car has streamed before (so a silent stream means fall back, slowly).
  bool has_streamed() const { return last_stream_ms.load() != 0; }
};

class CarRegistry {
 public:
  // False when another open connection already has this VIN (the second is refused).
  bool add(std::shared_ptr<CarState> car);
  void remove(const std::string& vin, ConnHandle conn);
  std::shared_ptr<CarState> by_vin(const std::string& vin) const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<CarState>> by_vin_;
};

}  // namespace oemlink::tesla

#endif
