// Smartcar webhook deliveries (oem-apis.md, "Webhooks (payload 4.0)"): generating realistic
// payloads, and re-stamping an envelope per attempt the way Smartcar does (a stable eventId, a
// fresh meta.deliveryId and meta.deliveredAt in ms on every try).
#pragma once

#include <boost/json/value.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace oemlink::mock_oem::smartcar {

enum class PayloadKind { vehicle_state, verify, vehicle_error };
// real: top-level `triggers` and no vehicleId (what real deliveries look like);
// docs: `data.triggers` and a top-level vehicleId (what the documentation shows).
enum class TriggerShape { real, docs };

std::optional<PayloadKind> parse_payload_kind(std::string_view name);
std::string generate_payload(PayloadKind kind, std::string_view vehicle_id, TriggerShape shape);

class Delivery {
 public:
  // `verbatim`: send the bytes as given on every attempt (no re-stamping, no JSON needed).
  // Otherwise the text must be JSON; throws std::invalid_argument saying why not.
  Delivery(std::string raw, bool verbatim);

  // A 4.0 envelope (eventId and meta): re-stamped per attempt. Legacy 2.0 payloads and other
  // JSON go out unchanged.
  bool restamped() const { return restamped_; }
  std::string event_id() const;
  void set_event_id(std::string id);  // load mode: a distinct event per request
  // Load mode: the vehicle a 4.0 delivery is about (data.vehicle.id, and the docs' top-level
  // vehicleId when the payload has one). False when the payload names no vehicle there.
  bool names_vehicle() const;
  void set_vehicle_id(const std::string& id);

  // The body of one attempt; `delivery_id` gets the attempt's deliveryId (empty when none).
  std::string body_for_attempt(std::string& delivery_id);

  // The challenge of a VERIFY event (4.0 data.challenge or 2.0 payload.challenge), if it is one.
  std::optional<std::string> challenge() const;

 private:
  std::string raw_;
  boost::json::value parsed_;
  bool verbatim_ = false, restamped_ = false;
};

}  // namespace oemlink::mock_oem::smartcar
