#include "event_id_dedupe.hpp"

#include <openssl/sha.h>

namespace oemlink::smartcar {

// Ids are kept as their SHA-256: an eventId is whatever a signed body says (up to the listener's
// body limit), and 32 bytes each keeps the window's memory bounded whatever senders send.
std::string EventIdDedupe::key(std::string_view event_id) {
  std::string digest(SHA256_DIGEST_LENGTH, '\0');
  SHA256(reinterpret_cast<const unsigned char*>(event_id.data()), event_id.size(),
         reinterpret_cast<unsigned char*>(digest.data()));
  return digest;
}

EventIdDedupe::Claim EventIdDedupe::claim(std::string_view event_id) {
  std::lock_guard lock(mu_);
  std::string id = key(event_id);
  if (done_.contains(id)) return Claim::duplicate;
  if (!in_flight_.insert(std::move(id)).second) return Claim::in_flight;
  return Claim::claimed;
}

void EventIdDedupe::commit(std::string_view event_id) {
  std::lock_guard lock(mu_);
  std::string id = key(event_id);
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
  in_flight_.erase(key(event_id));
}

size_t EventIdDedupe::size() const {
  std::lock_guard lock(mu_);
  return done_.size();
}

}  // namespace oemlink::smartcar
