#include "mqtt_telemetry_source.hpp"

#include <boost/json.hpp>

#include <cmath>

namespace oemlink::tesla {
namespace {

namespace json = boost::json;

bool plausible_vin(std::string_view vin) {
  if (vin.empty() || vin.size() > 32) return false;
  for (char c : vin) {
    if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))) return false;
  }
  return true;
}

}  // namespace

std::optional<TelemetryValue> telemetry_value_from_json(std::string_view payload) {
  boost::system::error_code ec;
  json::value v = json::parse(payload, ec);
  if (ec) return std::nullopt;
  TelemetryValue out;
  switch (v.kind()) {
    case json::kind::null:
      out.kind = TelemetryValue::Kind::invalid;
      return out;
    case json::kind::bool_:
      out.kind = TelemetryValue::Kind::boolean;
      out.flag = v.as_bool();
      return out;
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_:
      out.kind = TelemetryValue::Kind::number;
      out.number = v.to_number<double>();
      if (!std::isfinite(out.number)) return std::nullopt;
      return out;
    case json::kind::string:
      out.kind = TelemetryValue::Kind::text;
      out.text = std::string(v.as_string());
      return out;
    case json::kind::object: {
      const json::object& o = v.as_object();
      auto lat = o.find("latitude");
      auto lon = o.find("longitude");
      if (lat != o.end() && lon != o.end()) {
        if (!lat->value().is_number() || !lon->value().is_number()) return std::nullopt;
        out.kind = TelemetryValue::Kind::location;
        out.latitude = lat->value().to_number<double>();
        out.longitude = lon->value().to_number<double>();
        return out;
      }
      out.kind = TelemetryValue::Kind::flags;
      for (const auto& [k, b] : o) {
        if (!b.is_bool()) return std::nullopt;
        out.flags.emplace_back(std::string(k), b.as_bool());
      }
      return out;
    }
    default:
      return std::nullopt;
  }
}

std::vector<std::string> MqttTelemetrySource::topic_filters() const {
  return {base_ + "/+/v/#", base_ + "/+/connectivity"};
}

MqttRecord MqttTelemetrySource::parse(std::string_view topic, std::string_view payload,
                                      int64_t now_ms) const {
  if (topic.size() <= base_.size() + 1 || topic.substr(0, base_.size()) != base_ ||
      topic[base_.size()] != '/') {
    return MqttParseError{"topic outside " + base_ + "/: " + std::string(topic.substr(0, 200))};
  }
  if (payload.size() > kMaxPayload)
    return MqttParseError{"payload of " + std::to_string(payload.size()) + " bytes on " +
                          std::string(topic.substr(0, 200)) + " (at most " +
                          std::to_string(kMaxPayload) + ")"};
  std::string_view rest = topic.substr(base_.size() + 1);
  const size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return MqttParseError{"topic without a record type"};
  const std::string_view vin = rest.substr(0, slash);
  rest.remove_prefix(slash + 1);
  if (!plausible_vin(vin)) return MqttParseError{"topic names no valid VIN"};

  if (rest == "connectivity") {
    boost::system::error_code ec;
    json::value v = json::parse(payload, ec);
    const json::object* o = (!ec && v.is_object()) ? &v.as_object() : nullptr;
    const json::value* status = o ? o->if_contains("Status") : nullptr;
    if (!status || !status->is_string())
      return MqttParseError{"connectivity record of " + std::string(vin) + " has no Status"};
    const std::string_view s = status->as_string();
    if (s != "CONNECTED" && s != "DISCONNECTED")
      return MqttParseError{"connectivity record of " + std::string(vin) +
                            " has an unknown Status"};
    return ConnectivityRecord{std::string(vin), s == "CONNECTED", now_ms};
  }
  if (rest.substr(0, 2) != "v/" || rest.size() == 2 || rest.find('/', 2) != std::string_view::npos)
    return MqttParseError{"topic of " + std::string(vin) + " is not a v/<Field> record"};
  TelemetryDatum d;
  d.vin = std::string(vin);
  d.field = std::string(rest.substr(2));
  d.time_ms = now_ms;
  auto value = telemetry_value_from_json(payload);
  if (!value) return MqttParseError{"value of " + d.vin + "/" + d.field + " is not valid JSON"};
  d.value = std::move(*value);
  return d;
}

}  // namespace oemlink::tesla
