#include "tools/mock-oem/tesla/injection.hpp"

#include <boost/json/value.hpp>

#include <charconv>
#include <stdexcept>

namespace oemlink::mock_oem::tesla {
namespace {

int to_int(std::string_view key, std::string_view text) {
  int value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size())
    throw std::invalid_argument("injection " + std::string(key) +
                                ": not an integer: " + std::string(text));
  return value;
}

bool to_bool(std::string_view key, std::string_view text) {
  if (text == "true" || text == "1") return true;
  if (text == "false" || text == "0") return false;
  throw std::invalid_argument("injection " + std::string(key) +
                              ": not a boolean: " + std::string(text));
}

void set_key(InjectionRule& rule, std::string_view key, std::string_view value) {
  if (key == "vin" || key == "id") {
    rule.vin = value;
  } else if (key == "account") {
    rule.account = value;
  } else if (key == "path") {
    rule.path = value;
  } else if (key == "status") {
    const int s = to_int(key, value);
    if (s < 100 || s > 599) throw std::invalid_argument("injection status out of range");
    rule.status = static_cast<unsigned>(s);
  } else if (key == "retry_after") {
    rule.retry_after_s = to_int(key, value);
  } else if (key == "window") {
    rule.window = to_bool(key, value);
  } else if (key == "count") {
    rule.count = to_int(key, value);
  } else if (key == "latency_ms") {
    rule.latency_ms = to_int(key, value);
  } else if (key == "drop") {
    rule.drop = to_bool(key, value);
  } else if (key == "body") {
    rule.body = value;
  } else {
    throw std::invalid_argument("injection: unknown key '" + std::string(key) + "'");
  }
}

}  // namespace

InjectionRule parse_injection_rule(std::string_view spec) {
  InjectionRule rule;
  while (!spec.empty()) {
    const size_t comma = spec.find(',');
    const std::string_view item = spec.substr(0, comma);
    spec = comma == std::string_view::npos ? std::string_view() : spec.substr(comma + 1);
    if (item.empty()) continue;
    const size_t eq = item.find('=');
    if (eq == std::string_view::npos)
      throw std::invalid_argument("injection: expected key=value, got '" + std::string(item) + "'");
    set_key(rule, item.substr(0, eq), item.substr(eq + 1));
  }
  if (rule.status == 0 && rule.latency_ms == 0 && !rule.drop)
    throw std::invalid_argument("injection: needs status, latency_ms or drop");
  return rule;
}

InjectionRule injection_rule_from_json(const boost::json::object& o) {
  InjectionRule rule;
  for (const auto& [key, value] : o) {
    if (value.is_string()) {
      set_key(rule, key, value.as_string());
    } else if (value.is_int64() || value.is_uint64()) {
      set_key(rule, key, std::to_string(value.to_number<int64_t>()));
    } else if (value.is_bool()) {
      set_key(rule, key, value.as_bool() ? "true" : "false");
    } else {
      throw std::invalid_argument("injection: '" + std::string(key) +
                                  "' must be a string, integer or boolean");
    }
  }
  if (rule.status == 0 && rule.latency_ms == 0 && !rule.drop)
    throw std::invalid_argument("injection: needs status, latency_ms or drop");
  return rule;
}

bool InjectionTable::matches(const InjectionRule& rule, const RequestScope& scope) {
  if (!rule.vin.empty() && rule.vin != scope.vin && rule.vin != std::to_string(scope.vehicle_id))
    return false;
  if (!rule.account.empty() && rule.account != scope.account) return false;
  if (!rule.path.empty() && scope.path.find(rule.path) == std::string_view::npos) return false;
  return true;
}

void InjectionTable::add(InjectionRule rule) {
  std::lock_guard lock(mu_);
  rules_.push_back(std::move(rule));
}

void InjectionTable::clear() {
  std::lock_guard lock(mu_);
  rules_.clear();
  windows_.clear();
}

std::optional<InjectionDecision> InjectionTable::decide(const RequestScope& scope) {
  const auto now = Clock::now();
  std::lock_guard lock(mu_);
  std::erase_if(windows_, [&](const Window& w) { return w.until <= now; });
  for (const auto& w : windows_) {
    const bool covers =
        (w.vin.empty() || w.vin == scope.vin) && (w.account.empty() || w.account == scope.account);
    if (!covers) continue;
    ++violations_;
    InjectionDecision d;
    d.status = 429;
    d.retry_after_s =
        static_cast<int>(std::chrono::ceil<std::chrono::seconds>(w.until - now).count());
    d.in_window = true;
    return d;
  }
  for (auto it = rules_.begin(); it != rules_.end(); ++it) {
    if (it->count == 0 || !matches(*it, scope)) continue;
    if (it->count > 0) --it->count;
    InjectionDecision d;
    d.status = it->status;
    d.retry_after_s = it->retry_after_s;
    d.latency_ms = it->latency_ms;
    d.drop = it->drop;
    d.body = it->body;
    if (it->status == 429 && it->retry_after_s > 0 && it->window) {
      // A rule naming a car limits that car; one naming only an account limits the account.
      Window w;
      w.vin = it->vin.empty() ? std::string() : scope.vin;
      w.account = it->vin.empty() ? it->account : std::string();
      w.until = now + std::chrono::seconds(it->retry_after_s);
      windows_.push_back(std::move(w));
    }
    if (it->count == 0) rules_.erase(it);
    return d;
  }
  return std::nullopt;
}

uint64_t InjectionTable::window_violations() const {
  std::lock_guard lock(mu_);
  return violations_;
}

}  // namespace oemlink::mock_oem::tesla
