#include "car_registry.hpp"

namespace oemlink::tesla {

bool CarRegistry::add(std::shared_ptr<CarState> car) {
  std::lock_guard lock(mu_);
  if (car->vin.empty()) return true;  // polled only: the stream cannot name it
  return by_vin_.emplace(car->vin, std::move(car)).second;
}

void CarRegistry::remove(const std::string& vin, ConnHandle conn) {
  std::lock_guard lock(mu_);
  auto it = by_vin_.find(vin);
  if (it != by_vin_.end() && it->second->conn == conn) by_vin_.erase(it);
}

std::shared_ptr<CarState> CarRegistry::by_vin(const std::string& vin) const {
  std::lock_guard lock(mu_);
  auto it = by_vin_.find(vin);
  return it == by_vin_.end() ? nullptr : it->second;
}

}  // namespace oemlink::tesla
