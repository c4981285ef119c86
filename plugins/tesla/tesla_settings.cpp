#include "tesla_settings.hpp"

#include <boost/json.hpp>

#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>

namespace oemlink::tesla {
namespace {

[[noreturn]] void fail(std::string_view key, std::string_view what) {
  throw std::invalid_argument("tesla: setting '" + std::string(key) + "' " + std::string(what));
}

void check_url(std::string_view key, const std::string& url) {
  if (url.rfind("https://", 0) != 0 && url.rfind("http://", 0) != 0)
    fail(key, "must be an http:// or https:// URL");
  if (!url.empty() && url.back() == '/') fail(key, "must not end with '/'");
}

std::string read_file(std::string_view key, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(key, "names a file that cannot be read: " + path);
  std::ostringstream text;
  text << in.rdbuf();
  if (text.str().size() > (1u << 20)) fail(key, "names a file larger than 1 MiB: " + path);
  return text.str();
}

const std::set<std::string_view> kKnownEndpoints = {
    "charge_state",   "climate_state", "closures_state",       "drive_state",
    "gui_settings",   "location_data", "charge_schedule_data", "preconditioning_schedule_data",
    "vehicle_config", "vehicle_state"};

}  // namespace

std::vector<TelemetryFieldConfig> parse_telemetry_fields(std::string_view json) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(json, ec);
  if (ec || !v.is_object()) fail("telemetry_fields", "must be a mapping of field names");
  std::vector<TelemetryFieldConfig> out;
  for (const auto& [name, spec] : v.as_object()) {
    const std::string field(name);
    if (!spec.is_object()) fail("telemetry_fields", "field " + field + " must be a mapping");
    TelemetryFieldConfig f;
    f.name = field;
    for (const auto& [k, val] : spec.as_object()) {
      if (k == "interval_seconds") {
        if (!val.is_int64() && !val.is_uint64())
          fail("telemetry_fields", "field " + field + ": interval_seconds must be an integer");
        f.interval_seconds = val.is_int64() ? val.as_int64() : int64_t(val.as_uint64());
      } else if (k == "minimum_delta") {
        if (!val.is_number())
          fail("telemetry_fields", "field " + field + ": minimum_delta must be a number");
        f.minimum_delta = val.to_number<double>();
        if (!(f.minimum_delta >= 0))
          fail("telemetry_fields", "field " + field + ": minimum_delta must be >= 0");
      } else {
        fail("telemetry_fields", "field " + field + " has unknown key '" + std::string(k) + "'");
      }
    }
    if (f.interval_seconds < 1 || f.interval_seconds > 86400)
      fail("telemetry_fields", "field " + field + ": interval_seconds must be 1..86400");
    out.push_back(std::move(f));
  }
  if (out.empty()) fail("telemetry_fields", "must name at least one field");
  return out;
}

TeslaSettings parse_settings(std::string_view json) {
  TeslaSettings s;
  try {
    s = kSettingsTable.parse(json);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(std::string("tesla: ") + e.what());
  }
  // A hand-written settings object (tests, the SDK harness) may leave out what the host fills.
  auto or_default = [](std::string& v, const char* d) {
    if (v.empty()) v = d;
  };
  or_default(s.auth_base_url, "https://fleet-auth.prd.vn.cloud.tesla.com");
  or_default(s.fleet_api_base_url, "https://fleet-api.prd.na.vn.cloud.tesla.com");
  or_default(s.authorize_base_url, "https://auth.tesla.com");
  or_default(s.scopes, "openid offline_access user_data vehicle_device_data vehicle_location");
  or_default(s.stream_topic_base, "telemetry");
  if (s.telemetry_fields.text.empty()) s.telemetry_fields.text = kDefaultTelemetryFields;
  if (s.endpoints.empty())
    s.endpoints = {"charge_state", "climate_state", "drive_state", "vehicle_state"};

  if (s.client_id.empty()) fail("client_id", "must not be empty");
  check_url("auth_base_url", s.auth_base_url);
  check_url("fleet_api_base_url", s.fleet_api_base_url);
  check_url("authorize_base_url", s.authorize_base_url);
  for (char c : s.scopes)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      fail("scopes", "must be scope names separated by spaces");
  if ((" " + s.scopes + " ").find(" offline_access ") == std::string::npos)
    fail("scopes",
         "must include offline_access: without a refresh token a linked car stops "
         "after 8 hours");
  for (const std::string& e : s.endpoints) {
    if (!kKnownEndpoints.count(e)) fail("endpoints", "names an unknown section '" + e + "'");
    if (e == "location_data") fail("endpoints", "must not list location_data: use location_data");
  }
  if (s.daily_wake_budget < 0) fail("daily_wake_budget", "must be >= 0");
  if (s.daily_request_budget < 1) fail("daily_request_budget", "must be >= 1");
  if (s.token_refresh_margin_ms < 0 || s.token_refresh_margin_ms > 3'600'000)
    fail("token_refresh_margin", "must be between 0 and 1h");
  if (s.vehicle_list_ttl_ms < 0) fail("vehicle_list_ttl", "must be >= 0");
  if (s.http_timeout_ms < 0 || s.http_timeout_ms > 600'000)
    fail("http_timeout", "must be between 0 and 10m");
  if (s.stream_broker_port < 0 || s.stream_broker_port > 65535)
    fail("stream_broker_port", "must be 0..65535");
  if (s.stream_qos != 0 && s.stream_qos != 1) fail("stream_qos", "must be 0 or 1");
  if (s.stream_batch_window_ms < 1 || s.stream_batch_window_ms > 3'600'000)
    fail("stream_batch_window", "must be between 1ms and 1h");
  if (s.stream_stale_after_ms < 1000) fail("stream_stale_after", "must be at least 1s");
  if (s.stream_fallback_poll_interval_ms < 0) fail("stream_fallback_poll_interval", "must be >= 0");
  if (s.stream_asleep_check_interval_ms < 60'000)
    fail("stream_asleep_check_interval", "must be at least 1m");
  if (s.stream_topic_base.find_first_of("+#") != std::string::npos)
    fail("stream_topic_base", "must not contain MQTT wildcards");
  if (s.telemetry_port < 1 || s.telemetry_port > 65535) fail("telemetry_port", "must be 1..65535");
  if (s.telemetry_recheck_interval_ms < 60'000)
    fail("telemetry_recheck_interval", "must be at least 1m");
  s.telemetry_field_list = parse_telemetry_fields(s.telemetry_fields.text);

  if (s.telemetry_config_enabled) {
    if (s.client_secret.empty())
      fail("client_secret", "is required when telemetry_config_enabled is true (partner token)");
    if (s.telemetry_hostname.empty())
      fail("telemetry_hostname", "is required when telemetry_config_enabled is true");
    if (s.telemetry_ca_file.empty())
      fail("telemetry_ca_file", "is required when telemetry_config_enabled is true");
    s.telemetry_ca_pem = read_file("telemetry_ca_file", s.telemetry_ca_file);
    if (s.telemetry_partner_key_pem.empty() == s.telemetry_partner_key_file.empty())
      fail("telemetry_partner_key_pem",
           "or telemetry_partner_key_file: exactly one is required when "
           "telemetry_config_enabled is true");
    if (!s.telemetry_partner_key_file.empty())
      s.telemetry_partner_key_pem =
          read_file("telemetry_partner_key_file", s.telemetry_partner_key_file);
  }
  return s;
}

}  // namespace oemlink::tesla
