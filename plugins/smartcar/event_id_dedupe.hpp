// Smartcar delivers at least once and keeps `eventId` stable across retries: this remembers the
// last N eventIds whose readings were handed to the host, so a retried delivery emits nothing a
// second time. In memory only: after a restart a retry of an event from before it is processed
// again (an at-least-once duplicate downstream, never a loss). README.md, "Webhooks".
#ifndef OEMLINK_SMARTCAR_EVENT_ID_DEDUPE_HPP
#define OEMLINK_SMARTCAR_EVENT_ID_DEDUPE_HPP

#include <cstddef>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_set>

namespace oemlink::smartcar {

class EventIdDedupe {
 public:
  enum class Claim {
    claimed,    // new: process it, then commit() after emit succeeded or release() if not
    duplicate,  // already emitted: answer 2xx, emit nothing
    in_flight,  // the same eventId is being processed right now by another delivery
  };

  explicit EventIdDedupe(size_t capacity) : capacity_(capacity ? capacity : 1) {}

  Claim claim(std::string_view event_id);
  // The readings of `event_id` were accepted by emit(): remember it (the oldest is forgotten
  // once `capacity` ids are remembered).
  void commit(std::string_view event_id);
  // Processing failed (emit back-pressure...): a retry must be processed again.
  void release(std::string_view event_id);

  size_t size() const;

 private:
  static std::string key(std::string_view event_id);

  mutable std::mutex mu_;
  size_t capacity_;
  std::unordered_set<std::string> done_;
  std::deque<std::string> order_;  // oldest first, for eviction
  std::unordered_set<std::string> in_flight_;
};

}  // namespace oemlink::smartcar

#endif  // OEMLINK_SMARTCAR_EVENT_ID_DEDUPE_HPP
