#include "smartcar_settings.hpp"

#include <stdexcept>
#include <string>

namespace oemlink::smartcar {
namespace {

[[noreturn]] void bad(std::string_view key, std::string_view why) {
  throw std::invalid_argument("smartcar: setting '" + std::string(key) + "' " + std::string(why));
}

void check_base_url(std::string_view key, std::string& url) {
  if (!(url.starts_with("https://") || url.starts_with("http://")) || url.size() < 9)
    bad(key, "must be an absolute http(s) URL, got '" + url + "'");
  while (url.ends_with('/')) url.pop_back();  // paths are appended with their own '/'
}

// Space-separated permission names; Smartcar answers an unknown one with an error page the owner
// would see, so a typo is caught at start instead.
void check_scope(const std::string& scope) {
  size_t names = 0;
  size_t i = 0;
  while (i < scope.size()) {
    if (scope[i] == ' ') {
      ++i;
      continue;
    }
    size_t end = scope.find(' ', i);
    if (end == std::string::npos) end = scope.size();
    std::string_view name = std::string_view(scope).substr(i, end - i);
    if (name.starts_with("required:")) name.remove_prefix(9);
    const bool ok = (name.starts_with("read_") || name.starts_with("control_")) &&
                    name.find_first_not_of("abcdefghijklmnopqrstuvwxyz_") == std::string_view::npos;
    if (!ok)
      bad("scope", "has '" + std::string(scope.substr(i, end - i)) +
                       "', not a Smartcar permission (read_... or control_...)");
    ++names;
    i = end;
  }
  if (names == 0) bad("scope", "is empty");
}

}  // namespace

SmartcarSettings parse_settings(std::string_view json) {
  SmartcarSettings s = kSettingsTable.parse(json);
  if (s.client_id.empty()) bad("client_id", "is empty");
  if (s.client_secret.empty()) bad("client_secret", "is empty");
  check_base_url("auth_base_url", s.auth_base_url);
  check_base_url("api_base_url", s.api_base_url);
  check_base_url("v2_base_url", s.v2_base_url);
  check_base_url("connect_base_url", s.connect_base_url);
  if (s.mode != "live" && s.mode != "test" && s.mode != "simulated")
    bad("mode", "must be live, test or simulated, got '" + s.mode + "'");
  check_scope(s.scope);
  if (s.v2_unit_system != "metric" && s.v2_unit_system != "imperial")
    bad("v2_unit_system", "must be metric or imperial, got '" + s.v2_unit_system + "'");
  for (const std::string& p : s.v2_batch_paths)
    if (!p.starts_with('/')) bad("v2_batch_paths", "entry '" + p + "' must start with '/'");
  if (s.use_v2_batch && s.v2_batch_paths.empty()) bad("v2_batch_paths", "is empty");
  if (s.max_pages < 1 || s.max_pages > 1000) bad("max_pages", "must be between 1 and 1000");
  if (s.request_budget_capacity < 1) bad("request_budget_capacity", "must be at least 1");
  if (!(s.request_budget_refill_per_minute > 0) || s.request_budget_refill_per_minute > 1e6)
    bad("request_budget_refill_per_minute", "must be above 0");
  if (s.token_refresh_margin.count() < 0) bad("token_refresh_margin", "must not be negative");
  if (s.request_timeout.count() < 1 || s.request_timeout.count() > 3'600'000)
    bad("request_timeout", "must be between 1ms and 1h");
  if (s.webhook_dedupe_size < 1 || s.webhook_dedupe_size > 10'000'000)
    bad("webhook_dedupe_size", "must be between 1 and 10000000");
  return s;
}

}  // namespace oemlink::smartcar
