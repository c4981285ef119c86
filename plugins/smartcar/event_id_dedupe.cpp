#include "event_id_dedupe.hpp"

namespace oemlink::smartcar {

EventIdDedupe::Claim EventIdDedupe::claim(std::string_view event_id) {
  std::lock_guard lock(mu_);
  std::string id(event_id);
  if (done_.contains(id)) return Claim::duplicate;
  if (!in_flight_.insert(std::move(id)).second) return Claim::in_flight;
  return Claim::claimed;
}

void EventIdDedupe::commit(std::string_view event_id) {
  std::lock_guard lock(mu_);
  std::string id(event_id);
  in_flight_.erase(id);
  if (!done_.insert(id).second) return;
  order_.push_back(std::move(id));
  while (order_.size() > capacity_) {
    done_.erase(order_.front());
    order_.pop_front();
  }
}

void EventIdDedupe::release(std::string_view event_id) {
  std::lock_guard lock(mu_);
  in_flight_.erase(std::string(event_id));
}

size_t EventIdDedupe::size() const {
  std::lock_guard lock(mu_);
  return done_.size();
}

}  // namespace oemlink::smartcar
