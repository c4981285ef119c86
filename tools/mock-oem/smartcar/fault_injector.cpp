#include "tools/mock-oem/smartcar/fault_injector.hpp"

#include <boost/json.hpp>

#include <charconv>
#include <stdexcept>

namespace oemlink::mock_oem::smartcar {

namespace json = boost::json;

namespace {

constexpr std::pair<std::string_view, Endpoint> kEndpoints[] = {
    {"vehicle_api", Endpoint::vehicle_api},
    {"signals", Endpoint::signals},
    {"vehicle", Endpoint::vehicle},
    {"batch", Endpoint::batch},
    {"token", Endpoint::token},
    {"any", Endpoint::any},
};

bool applies(Endpoint rule, Endpoint request) {
  if (rule == Endpoint::any || rule == request) return true;
  return rule == Endpoint::vehicle_api && request != Endpoint::token;
}

int64_t to_int(std::string_view key, std::string_view text) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size())
    throw std::invalid_argument("fault rule: \"" + std::string(key) +
                                "\" must be an integer, got \"" + std::string(text) + "\"");
  return v;
}

// Applies one key; values arrive as text from both the option and the JSON form.
void set_key(FaultRule& rule, std::string_view key, std::string_view value) {
  if (key == "vehicle") {
    rule.vehicle = value == "*" ? "" : std::string(value);
  } else if (key == "endpoint") {
    for (auto& [name, e] : kEndpoints)
      if (name == value) {
        rule.endpoint = e;
        return;
      }
    throw std::invalid_argument(
        "fault rule: \"endpoint\" must be one of vehicle_api, signals, vehicle, batch, token, any; "
        "got \"" +
        std::string(value) + "\"");
  } else if (key == "status") {
    const int64_t s = to_int(key, value);
    if (s != 0 && (s < 400 || s > 599))
      throw std::invalid_argument("fault rule: \"status\" must be 0 or 400..599");
    rule.status = static_cast<unsigned>(s);
  } else if (key == "code") {
    rule.code = std::string(value);
  } else if (key == "shape") {
    rule.shape = parse_error_shape(value);
    if (!rule.shape)
      throw std::invalid_argument("fault rule: \"shape\" must be v3, v2 or raw; got \"" +
                                  std::string(value) + "\"");
  } else if (key == "retry_after") {
    rule.retry_after_s = static_cast<int>(to_int(key, value));
  } else if (key == "delay_ms") {
    rule.delay = std::chrono::milliseconds(to_int(key, value));
  } else if (key == "drop") {
    if (value != "true" && value != "false")
      throw std::invalid_argument("fault rule: \"drop\" must be true or false");
    rule.drop = value == "true";
  } else if (key == "count") {
    rule.count = to_int(key, value);
  } else {
    throw std::invalid_argument(
        "fault rule: unknown key \"" + std::string(key) +
        "\" (known: vehicle, endpoint, status, code, shape, retry_after, delay_ms, drop, count)");
  }
}

void check(const FaultRule& rule) {
  if (rule.status == 0 && rule.delay.count() == 0 && !rule.drop)
    throw std::invalid_argument("fault rule: needs \"status\", \"delay_ms\" or \"drop\"");
  if (rule.count == 0) throw std::invalid_argument("fault rule: \"count\" must not be 0");
}

}  // namespace

FaultRule parse_fault_rule(const json::object& spec) {
  FaultRule rule;
  for (const auto& [key, value] : spec) {
    std::string text;
    if (value.is_string())
      text = value.get_string();
    else if (value.is_int64())
      text = std::to_string(value.get_int64());
    else if (value.is_uint64())
      text = std::to_string(value.get_uint64());
    else if (value.is_bool())
      text = value.get_bool() ? "true" : "false";
    else if (value.is_null() && key == "vehicle")
      text = "*";
    else
      throw std::invalid_argument("fault rule: \"" + std::string(key) +
                                  "\" must be a string, an integer or a boolean");
    set_key(rule, key, text);
  }
  check(rule);
  return rule;
}

FaultRule parse_fault_rule(std::string_view text) {
  FaultRule rule;
  while (!text.empty()) {
    const size_t comma = text.find(',');
    const std::string_view item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    if (item.empty()) continue;
    const size_t eq = item.find('=');
    if (eq == std::string_view::npos)
      throw std::invalid_argument("fault rule: \"" + std::string(item) + "\" is not key=value");
    set_key(rule, item.substr(0, eq), item.substr(eq + 1));
  }
  check(rule);
  return rule;
}

json::object describe(const FaultRule& rule) {
  json::object o;
  o["vehicle"] = rule.vehicle.empty() ? json::value("*") : json::value(rule.vehicle);
  for (auto& [name, e] : kEndpoints)
    if (e == rule.endpoint) o["endpoint"] = name;
  o["status"] = rule.status;
  if (rule.code) o["code"] = *rule.code;
  if (rule.shape) o["shape"] = error_shape_name(*rule.shape);
  if (rule.retry_after_s >= 0) o["retry_after"] = rule.retry_after_s;
  if (rule.delay.count()) o["delay_ms"] = rule.delay.count();
  if (rule.drop) o["drop"] = true;
  o["count"] = rule.count;
  return o;
}

std::optional<FaultRule> FaultInjector::take(Endpoint endpoint, std::string_view vehicle) {
  for (auto it = rules_.begin(); it != rules_.end(); ++it) {
    if (!applies(it->endpoint, endpoint)) continue;
    if (!it->vehicle.empty() && it->vehicle != vehicle) continue;
    FaultRule fired = *it;
    if (it->count > 0 && --it->count == 0) rules_.erase(it);
    ++fired_;
    return fired;
  }
  return std::nullopt;
}

}  // namespace oemlink::mock_oem::smartcar
