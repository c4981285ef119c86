// The mock's webhook, for testing the host's listener and its durability hold. A delivery is
//   {"connection": "<id>", "readings": [{"name": "speed", "value": 12.5, "timestamp_ms":
//   1700000000000},
//                                       {"name": "currentLocationCoordinates", "latitude": 52.5,
//                                        "longitude": 13.4}, {"name": "x", "text": "y"}]}
// (timestamp_ms defaults to now). The readings are emitted for that connection, then answered:
//   200 {"ok":true}   emitted (the host holds it until they are durable)
//   400               not JSON, or not this shape
//   404               unknown connection, or webhooks off for this instance (settings.webhook)
//   422               the host rejected some readings (bad signal name or value)
//   503               back-pressure: the host took nothing; the sender retries
// Connections are listed only with settings.webhook, so load tests with a million cars pay nothing.
#ifndef OEMLINK_MOCK_WEBHOOK_HPP
#define OEMLINK_MOCK_WEBHOOK_HPP

#include <oemlink/driver.hpp>

#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace oemlink::mock {

struct WebhookAnswer {
  int status;
  std::string body;
};

// Connection id -> handle, for the connections open now. [any-thread]
class ConnectionDirectory {
 public:
  void add(std::string id, ConnHandle conn);
  void remove(ConnHandle conn);
  ConnHandle find(std::string_view id) const;

 private:
  mutable std::mutex mu_;
  std::unordered_map<std::string, ConnHandle> by_id_;
  std::unordered_map<ConnHandle, std::string> by_handle_;
};

WebhookAnswer handle_webhook(const Host& host, const ConnectionDirectory& conns,
                             std::string_view body);

}  // namespace oemlink::mock

#endif  // OEMLINK_MOCK_WEBHOOK_HPP
