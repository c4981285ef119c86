// A sink's delivery half: takes one stored event and reports, asynchronously, what became of it.
// The UplinkDispatcher owns everything around it — reading from the outbox at the sink's
// cursor, per-connection ordering, retries with back-off, dead-lettering, acknowledgements — so a
// deliverer only speaks its protocol (HTTPS to DIMO, MQTT, a file).
#pragma once

#include "core/store/outbox_store.hpp"

#include <chrono>
#include <functional>
#include <string>
#include <string_view>

namespace oemlink::uplink {

struct DeliveryResult {
  enum class Kind {
    delivered,  // the peer has it (HTTP 200, MQTT PUBACK, written): acknowledge
    rejected,   // the peer will never take it (HTTP 400): dead-letter with `detail`
    retry,      // not now (5xx, timeout, network, TLS): back off and try again
    held        // not sent: the peer would drop it now (its time is too far ahead); try again
                // after `retry_after`, without counting a failure
  };
  Kind kind = Kind::retry;
  std::string detail;                        // the peer's words or the transport error
  std::chrono::milliseconds retry_after{0};  // a peer's Retry-After, when it gave one
};

using DeliveryDone = std::function<void(DeliveryResult)>;

class EventDeliverer {
 public:
  virtual ~EventDeliverer() = default;
  virtual std::string_view name() const = 0;
  // How many deliveries may be in flight at once (the dispatcher keeps one per connection).
  virtual size_t max_in_flight() const = 0;
  // [host loop] Starts delivering `record`; `done` runs exactly once, on the host loop thread
  // (post there if the protocol's callbacks come from elsewhere), possibly before this returns.
  virtual void deliver(const store::OutboxRecord& record, DeliveryDone done) = 0;
  // [host loop] Stop: fail everything in flight with retry (it stays in the outbox) and release
  // the connection to the peer.
  virtual void shutdown() = 0;
};

}  // namespace oemlink::uplink
