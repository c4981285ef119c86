#include "core/uplink/mqtt_topic.hpp"

#include "core/common/json_member.hpp"

namespace oemlink::uplink {

namespace {

constexpr std::string_view kConnection = "{connection}";
constexpr std::string_view kVehicleToken = "{vehicle_token}";

std::optional<std::string> check_value(std::string_view what, std::string_view value) {
  if (value.empty()) return std::string(what) + " is empty";
  for (char c : value) {
    if (c == '+' || c == '#' || c == '/' || c == '\0')
      return std::string(what) + " contains '" +
             (c == '\0' ? std::string("\\0") : std::string(1, c)) +
             "', which would change the topic";
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> vehicle_token_of(std::string_view event_json) {
  std::optional<std::string_view> raw = raw_json_member(event_json, "subject");
  if (!raw || raw->size() < 2 || raw->front() != '"' || raw->back() != '"') return std::nullopt;
  std::string_view subject = raw->substr(1, raw->size() - 2);
  // A DID never needs JSON escapes; one here means this is not a subject we built.
  if (subject.find('\\') != std::string_view::npos) return std::nullopt;
  size_t colon = subject.rfind(':');
  std::string_view token = colon == std::string_view::npos ? subject : subject.substr(colon + 1);
  if (token.empty()) return std::nullopt;
  return std::string(token);
}

std::variant<std::string, TopicError> expand_topic(std::string_view topic_template,
                                                   std::string_view connection_id,
                                                   std::string_view event_json) {
  std::string out;
  out.reserve(topic_template.size() + 64);
  std::optional<std::string> token;  // parsed only when the template asks for it
  size_t i = 0;
  while (i < topic_template.size()) {
    std::string_view rest = topic_template.substr(i);
    if (rest.starts_with(kConnection)) {
      if (auto bad = check_value("connection id", connection_id)) return TopicError{*bad};
      out += connection_id;
      i += kConnection.size();
    } else if (rest.starts_with(kVehicleToken)) {
      if (!token) token = vehicle_token_of(event_json);
      if (!token) return TopicError{"the event has no subject DID to take {vehicle_token} from"};
      if (auto bad = check_value("vehicle token", *token)) return TopicError{*bad};
      out += *token;
      i += kVehicleToken.size();
    } else {
      out += topic_template[i++];
    }
  }
  if (out.empty()) return TopicError{"topic is empty"};
  return out;
}

}  // namespace oemlink::uplink
