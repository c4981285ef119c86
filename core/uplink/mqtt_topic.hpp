// Topic naming for the MQTT sink: expands the configured template for one stored event.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace oemlink::uplink {

// The vehicle token of a signed CloudEvent: the last ':' segment of its "subject" DID
// (did:erc721:<chain>:<contract>:<token>); nullopt when absent, not a plain string, or empty.
std::optional<std::string> vehicle_token_of(std::string_view event_json);

struct TopicError {
  std::string reason;
};

// Substitutes {connection} and {vehicle_token} in `topic_template`. A substituted value must be
// non-empty and free of '+', '#', '/' and NUL: a value must never widen or re-route the topic
// (wildcards are illegal in a published topic, and '/' would add levels). Failures are final for
// the event, so the caller dead-letters rather than retries them.
std::variant<std::string, TopicError> expand_topic(std::string_view topic_template,
                                                   std::string_view connection_id,
                                                   std::string_view event_json);

}  // namespace oemlink::uplink
