// Smartcar webhook deliveries to POST /webhooks/<instance>: the VERIFY handshake, signature
// checks, payload 4.0 (VEHICLE_STATE, VEHICLE_ERROR) and legacy 2.0, dedupe by eventId, and the
// answer codes Smartcar acts on (any 2xx is final; anything else is retried 3x, then dropped).
// The full rules are in README.md, "Webhooks".
#ifndef OEMLINK_SMARTCAR_WEBHOOK_HANDLER_HPP
#define OEMLINK_SMARTCAR_WEBHOOK_HANDLER_HPP

#include "instance_context.hpp"

#include <oemlink/driver.hpp>

#include <boost/json/value.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
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
  void log_limited(oemlink_log_level level, std::string line);

  std::shared_ptr<InstanceContext> ctx_;
  // Anyone who can reach the listener chooses how often a request is refused (tens of thousands
  // a second over one connection): such lines are logged kLimitedLogsPerMinute times a minute at
  // most, then how many were left out. The counters count every one.
  static constexpr uint32_t kLimitedLogsPerMinute = 20;
  std::mutex log_mu_;
  int64_t log_minute_ = -1;
  uint32_t logged_ = 0;
  uint64_t left_out_ = 0;
};

}  // namespace oemlink::smartcar

#endif  // OEMLINK_SMARTCAR_WEBHOOK_HANDLER_HPP
