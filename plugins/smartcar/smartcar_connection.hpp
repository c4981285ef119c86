// One linked car: a poll round is one GET <v3>/vehicles/{id}/signals following links.next (or,
// with use_v2_batch, one POST <v2>/vehicles/{id}/batch), mapped to DIMO readings and emitted as
// one event. Error answers become connection states (error_classifier.hpp).
#ifndef OEMLINK_SMARTCAR_CONNECTION_HPP
#define OEMLINK_SMARTCAR_CONNECTION_HPP

#include "instance_context.hpp"
#include "token_chain.hpp"

#include <oemlink/driver.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

namespace oemlink::smartcar {

// Per-car state that polls share; a round holds it by shared_ptr.
struct CarState {
  std::shared_ptr<InstanceContext> ctx;
  ConnHandle conn = nullptr;
  std::string vehicle_id;
  std::string user;                   // identifiers.smartcar_user; "" = tokens of its own
  std::shared_ptr<TokenChain> chain;  // seated at the first poll (secrets are readable then)
  std::string failed_reason;          // set after a permanent failure (430 BILLING, 404...)
  int64_t not_before_ms = 0;          // a vehicle-level 429's Retry-After
  std::atomic<oemlink_conn_state> last_state{OEMLINK_STATE_OK};  // webhooks report too

  void report(oemlink_conn_state state, int64_t until_ms, std::string_view reason);
  // Its token chain, found on first use by its user and stored grant_id (chain_directory.hpp).
  TokenChain& tokens();
};

class SmartcarConnection : public Connection {
 public:
  SmartcarConnection(std::shared_ptr<InstanceContext> ctx, ConnHandle conn, std::string vehicle_id,
                     std::string user);
  ~SmartcarConnection() override;
  void poll(PollDone done) override;

 private:
  std::shared_ptr<CarState> car_;
};

}  // namespace oemlink::smartcar

#endif  // OEMLINK_SMARTCAR_CONNECTION_HPP
