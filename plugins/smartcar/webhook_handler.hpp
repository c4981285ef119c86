// Smartcar webhook deliveries to POST /webhooks/<instance>: the VERIFY handshake, signature
// checks, payload 4.0 (VEHICLE_STATE, VEHICLE_ERROR) and legacy 2.0, dedupe by eventId, and the
// answer codes Smartcar acts on (any 2xx is final; anything else is retried 3x, then dropped).
// The full rules are in README.md, "Webhooks".
#ifndef OEMLINK_SMARTCAR_WEBHOOK_HANDLER_HPP
#define OEMLINK_SMARTCAR_WEBHOOK_HANDLER_HPP

#include "instance_context.hpp"

#include <oemlink/driver.hpp>

#include <boost/json/value.hpp>

#include <functional>
#include <memory>
#include <string_view>

namespace oemlink::smartcar {

class WebhookHandler {
 public:
  using Respond = std::function<void(int, std::string_view)>;

  explicit WebhookHandler(std::shared_ptr<InstanceContext> ctx) : ctx_(std::move(ctx)) {}

  // Answers through `respond` exactly once, after emitting (the host holds a 2xx until the
  // emitted events are durable). Never throws.
  void handle(const HttpRequest& req, const Respond& respond);

 private:
  void dispatch(const HttpRequest& req, std::string_view signature, const Respond& respond);
  void verify_challenge(std::string_view challenge, const Respond& respond);
  void vehicle_state(const boost::json::value& doc, const Respond& respond);
  void vehicle_error(const boost::json::value& doc, const Respond& respond);
  void legacy(const boost::json::value& doc, std::string_view signature, const Respond& respond);
  void reject(int code, std::string_view counter, std::string_view why, const Respond& respond);

  std::shared_ptr<InstanceContext> ctx_;
};

}  // namespace oemlink::smartcar

#endif  // OEMLINK_SMARTCAR_WEBHOOK_HANDLER_HPP
