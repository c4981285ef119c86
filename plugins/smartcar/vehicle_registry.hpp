// Which open connection a Smartcar vehicle id belongs to, for webhooks: a delivery names the
// vehicle (data.vehicle.id), the host's emit() needs the connection. A webhook runs on any host
// thread while connections open and close on the host loop, so a lookup holds a shared lock for
// as long as it uses the connection and close() waits for it (emit() is quick: it hands events
// to the outbox or answers RETRY).
#ifndef OEMLINK_SMARTCAR_VEHICLE_REGISTRY_HPP
#define OEMLINK_SMARTCAR_VEHICLE_REGISTRY_HPP

#include <oemlink/driver.h>

#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace oemlink::smartcar {

class VehicleRegistry {
 public:
  // False when another open connection already has this vehicle.
  bool add(const std::string& vehicle_id, oemlink_conn* conn) {
    std::unique_lock lock(mu_);
    return by_id_.emplace(vehicle_id, conn).second;
  }
  void remove(const std::string& vehicle_id, oemlink_conn* conn) {
    std::unique_lock lock(mu_);
    auto it = by_id_.find(vehicle_id);
    if (it != by_id_.end() && it->second == conn) by_id_.erase(it);
  }
  // Runs fn(conn) while the connection cannot close; false (fn not run) for an unknown vehicle.
  template <class F>
  bool with(std::string_view vehicle_id, F&& fn) {
    std::shared_lock lock(mu_);
    auto it = by_id_.find(std::string(vehicle_id));
    if (it == by_id_.end()) return false;
    fn(it->second);
    return true;
  }

 private:
  std::shared_mutex mu_;
  std::unordered_map<std::string, oemlink_conn*> by_id_;
};

}  // namespace oemlink::smartcar

#endif  // OEMLINK_SMARTCAR_VEHICLE_REGISTRY_HPP
