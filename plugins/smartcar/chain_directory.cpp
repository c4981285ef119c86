#include "chain_directory.hpp"

namespace oemlink::smartcar {

void ChainDirectory::enroll(const std::string& user, ConnHandle conn,
                            const std::string& vehicle_id) {
  std::lock_guard lock(mu_);
  users_[user].unseated.emplace_back(conn, vehicle_id);
}

void ChainDirectory::leave(const std::string& user, ConnHandle conn) {
  std::shared_ptr<TokenChain> chain;
  {
    std::lock_guard lock(mu_);
    auto it = users_.find(user);
    if (it == users_.end()) return;
    UserCars& cars = it->second;
    std::erase_if(cars.unseated, [conn](const auto& m) { return m.first == conn; });
    if (auto s = cars.seated.find(conn); s != cars.seated.end()) {
      chain = std::move(s->second);
      cars.seated.erase(s);
    }
    if (cars.unseated.empty() && cars.seated.empty()) users_.erase(it);
  }
  if (chain) chain->remove_member(conn);
}

void ChainDirectory::seat_all(const std::string& user, UserCars& cars) {
  for (auto& [conn, vehicle] : cars.unseated) {
    std::string grant;
    host_.secret_get(conn, kGrantIdKey, grant);
    std::shared_ptr<TokenChain> chain = cars.by_grant[grant].lock();
    if (!chain) {
      chain = std::make_shared<TokenChain>(host_, settings_, "Smartcar user " + user);
      cars.by_grant[grant] = chain;
    }
    chain->add_member(conn, vehicle);
    cars.seated[conn] = std::move(chain);
  }
  cars.unseated.clear();
}

std::shared_ptr<TokenChain> ChainDirectory::chain_of(const std::string& user, ConnHandle conn,
                                                     const std::string& vehicle_id) {
  if (user.empty()) {
    auto chain = std::make_shared<TokenChain>(host_, settings_, "vehicle " + vehicle_id);
    chain->add_member(conn, vehicle_id);
    return chain;
  }
  std::lock_guard lock(mu_);
  UserCars& cars = users_[user];
  seat_all(user, cars);
  auto it = cars.seated.find(conn);
  if (it != cars.seated.end()) return it->second;
  // Not enrolled (cannot happen through open()): seated alone rather than failing the poll.
  auto chain = std::make_shared<TokenChain>(host_, settings_, "Smartcar user " + user);
  chain->add_member(conn, vehicle_id);
  cars.seated[conn] = chain;
  return chain;
}

size_t ChainDirectory::users() {
  std::lock_guard lock(mu_);
  return users_.size();
}

}  // namespace oemlink::smartcar
