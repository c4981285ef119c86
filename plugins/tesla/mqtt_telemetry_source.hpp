// Fleet Telemetry's MQTT dispatcher as a source of TelemetryDatum/ConnectivityRecord: topics
// `<topic_base>/<VIN>/v/<Field>` with one JSON value each (no timestamp: stamped on receipt)
// and `<topic_base>/<VIN>/connectivity`. Alerts and errors topics are not subscribed.
#ifndef OEMLINK_TESLA_MQTT_TELEMETRY_SOURCE_HPP
#define OEMLINK_TESLA_MQTT_TELEMETRY_SOURCE_HPP

#include "telemetry_datum.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace oemlink::tesla {

struct MqttParseError {
  std::string what;  // names the topic's VIN and field; never the payload of a secret topic
};

using MqttRecord = std::variant<TelemetryDatum, ConnectivityRecord, MqttParseError>;

class MqttTelemetrySource {
 public:
  // A Fleet Telemetry value is a number, an enum name or a small object; anything far larger is
  // junk from someone who can publish to the broker, refused before it is parsed.
  static constexpr size_t kMaxPayload = 16 * 1024;

  explicit MqttTelemetrySource(std::string topic_base) : base_(std::move(topic_base)) {}
  // The filters to subscribe to.
  std::vector<std::string> topic_filters() const;
  // One message, received at `now_ms`. A topic outside the filters is an MqttParseError.
  MqttRecord parse(std::string_view topic, std::string_view payload, int64_t now_ms) const;

 private:
  std::string base_;
};

// A JSON value as the dispatcher writes it -> TelemetryValue; nullopt when it has no meaning.
std::optional<TelemetryValue> telemetry_value_from_json(std::string_view payload);

}  // namespace oemlink::tesla

#endif
