// The Tesla driver's settings: one typed table that is both what the host validates the YAML
// against (and prints in `oemlink plugins info`) and how the settings JSON becomes TeslaSettings.
// README.md in this folder documents each setting and why its default is what it is.
#ifndef OEMLINK_TESLA_SETTINGS_HPP
#define OEMLINK_TESLA_SETTINGS_HPP

#include <oemlink/settings.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace oemlink::tesla {

// One Fleet Telemetry field as the car is told to send it.
struct TelemetryFieldConfig {
  std::string name;  // Tesla's field name, e.g. "Soc"
  int64_t interval_seconds = 0;
  double minimum_delta = 0;  // 0 = not sent (every change at most once per interval)
};

// Initializers are the table's defaults, so a hand-written settings object (the SDK harness
// passes one straight to create()) means the same as the host's filled-in one.
struct TeslaSettings {
  std::string client_id;
  std::string client_secret;
  std::string auth_base_url = "https://fleet-auth.prd.vn.cloud.tesla.com";
  std::string authorize_base_url = "https://auth.tesla.com";
  std::string scopes = "openid offline_access user_data vehicle_device_data vehicle_location";
  std::string fleet_api_base_url = "https://fleet-api.prd.na.vn.cloud.tesla.com";
  std::vector<std::string> endpoints;
  bool location_data = false;
  bool wake = false;
  int64_t daily_wake_budget = 1;
  int64_t daily_request_budget = 300;
  int64_t token_refresh_margin_ms = 5 * 60'000;
  int64_t vehicle_list_ttl_ms = 60'000;
  int64_t http_timeout_ms = 30'000;

  std::string stream_broker_host;
  int64_t stream_broker_port = 0;
  std::string stream_client_id;
  std::string stream_username;
  std::string stream_password;
  std::string stream_ca_file;
  std::string stream_cert_file;
  std::string stream_key_file;
  std::string stream_topic_base = "telemetry";
  int64_t stream_qos = 1;
  int64_t stream_batch_window_ms = 10'000;
  int64_t stream_stale_after_ms = 30 * 60'000;
  int64_t stream_fallback_poll_interval_ms = 30 * 60'000;
  int64_t stream_asleep_check_interval_ms = 12 * 3'600'000;

  bool telemetry_config_enabled = false;
  std::string telemetry_hostname;
  int64_t telemetry_port = 443;
  std::string telemetry_ca_file;
  JsonText telemetry_fields;
  std::string telemetry_partner_key_pem;
  std::string telemetry_partner_key_file;
  int64_t telemetry_recheck_interval_ms = 86'400'000;

  // Derived by parse_settings(), not settings rows.
  std::vector<TelemetryFieldConfig> telemetry_field_list;
  std::string telemetry_ca_pem;  // contents of telemetry_ca_file
  bool streaming() const { return !stream_broker_host.empty(); }
};

// JSON, which is also YAML flow syntax: the host reads it as the YAML default and
// parse_settings() as the fallback when a hand-written settings object leaves it out.
inline constexpr const char* kDefaultTelemetryFields =
    "{\"Location\": {\"interval_seconds\": 60, \"minimum_delta\": 500},"
    " \"VehicleSpeed\": {\"interval_seconds\": 60, \"minimum_delta\": 5},"
    " \"Odometer\": {\"interval_seconds\": 600, \"minimum_delta\": 1},"
    " \"Soc\": {\"interval_seconds\": 600, \"minimum_delta\": 1},"
    " \"EstBatteryRange\": {\"interval_seconds\": 1800, \"minimum_delta\": 5},"
    " \"DetailedChargeState\": {\"interval_seconds\": 60},"
    " \"ACChargingPower\": {\"interval_seconds\": 300, \"minimum_delta\": 1},"
    " \"DCChargingPower\": {\"interval_seconds\": 300, \"minimum_delta\": 5},"
    " \"DCChargingEnergyIn\": {\"interval_seconds\": 1800, \"minimum_delta\": 1},"
    " \"ChargeLimitSoc\": {\"interval_seconds\": 3600},"
    " \"OutsideTemp\": {\"interval_seconds\": 3600, \"minimum_delta\": 2}}";
inline constexpr const char* kDefaultEndpoints =
    "[\"charge_state\", \"climate_state\", \"drive_state\", \"vehicle_state\"]";

inline constexpr SettingsTable kSettingsTable{
    field("client_id", OEMLINK_SETTING_STRING, OEMLINK_SETTING_REQUIRED, nullptr,
          "Fleet API application client id (sent with every token refresh)",
          &TeslaSettings::client_id),
    field("client_secret", OEMLINK_SETTING_STRING, OEMLINK_SETTING_SECRET, "\"\"",
          "Fleet API client secret; needed only for the partner token (telemetry config)",
          &TeslaSettings::client_secret),
    field("auth_base_url", OEMLINK_SETTING_STRING, 0, "https://fleet-auth.prd.vn.cloud.tesla.com",
          "OAuth server; the token endpoint is <auth_base_url>/oauth2/v3/token",
          &TeslaSettings::auth_base_url),
    field("authorize_base_url", OEMLINK_SETTING_STRING, 0, "https://auth.tesla.com",
          "Where owners give consent when linking a car: <authorize_base_url>/oauth2/v3/authorize "
          "(China: https://auth.tesla.cn)",
          &TeslaSettings::authorize_base_url),
    field("scopes", OEMLINK_SETTING_STRING, 0,
          "openid offline_access user_data vehicle_device_data vehicle_location",
          "OAuth scopes asked for when linking a car (space-separated); offline_access gives the "
          "refresh token",
          &TeslaSettings::scopes),
    field("fleet_api_base_url", OEMLINK_SETTING_STRING, 0,
          "https://fleet-api.prd.na.vn.cloud.tesla.com",
          "Fleet API host asked for each account's region (/api/1/users/region); also the "
          "partner token's audience",
          &TeslaSettings::fleet_api_base_url),
    field("endpoints", OEMLINK_SETTING_OBJECT, 0, kDefaultEndpoints,
          "vehicle_data sections to request (location_data is added by `location_data`)",
          &TeslaSettings::endpoints),
    field("location_data", OEMLINK_SETTING_BOOL, 0, "false",
          "Ask for location (only used when the token has the vehicle_location scope)",
          &TeslaSettings::location_data),
    field("wake", OEMLINK_SETTING_BOOL, 0, "false",
          "Wake sleeping cars to poll them (costly: 50 wakes = $1); never by default",
          &TeslaSettings::wake),
    field("daily_wake_budget", OEMLINK_SETTING_INT, 0, "1",
          "Wakes per car per UTC day when `wake` is on", &TeslaSettings::daily_wake_budget),
    field("daily_request_budget", OEMLINK_SETTING_INT, 0, "300",
          "Billed Fleet API calls per car per UTC day; when spent the car is RATE_LIMITED "
          "until midnight UTC (a bug cannot run up a bill)",
          &TeslaSettings::daily_request_budget),
    field("token_refresh_margin", OEMLINK_SETTING_DURATION_MS, 0, "5m",
          "Refresh an access token this long before it expires",
          &TeslaSettings::token_refresh_margin_ms),
    field("vehicle_list_ttl", OEMLINK_SETTING_DURATION_MS, 0, "60s",
          "How long one account's vehicle list answers for all its cars",
          &TeslaSettings::vehicle_list_ttl_ms),
    field("http_timeout", OEMLINK_SETTING_DURATION_MS, 0, "30s", "Timeout of each HTTP request",
          &TeslaSettings::http_timeout_ms),
    field("stream_broker_host", OEMLINK_SETTING_STRING, 0, "\"\"",
          "MQTT broker the fleet-telemetry server dispatches to; empty = no stream",
          &TeslaSettings::stream_broker_host),
    field("stream_broker_port", OEMLINK_SETTING_INT, 0, "0",
          "Broker port; 0 = 1883, or 8883 with TLS", &TeslaSettings::stream_broker_port),
    field("stream_client_id", OEMLINK_SETTING_STRING, 0, "\"\"",
          "MQTT client id (stable, for a persistent session); empty = host default",
          &TeslaSettings::stream_client_id),
    field("stream_username", OEMLINK_SETTING_STRING, 0, "\"\"", "MQTT user name",
          &TeslaSettings::stream_username),
    field("stream_password", OEMLINK_SETTING_STRING, OEMLINK_SETTING_SECRET, "\"\"",
          "MQTT password", &TeslaSettings::stream_password),
    field("stream_ca_file", OEMLINK_SETTING_STRING, 0, "\"\"",
          "CA file to verify the broker with; non-empty turns TLS on",
          &TeslaSettings::stream_ca_file),
    field("stream_cert_file", OEMLINK_SETTING_STRING, 0, "\"\"", "MQTT client certificate file",
          &TeslaSettings::stream_cert_file),
    field("stream_key_file", OEMLINK_SETTING_STRING, 0, "\"\"", "MQTT client key file",
          &TeslaSettings::stream_key_file),
    field("stream_topic_base", OEMLINK_SETTING_STRING, 0, "telemetry",
          "The fleet-telemetry MQTT dispatcher's topic_base", &TeslaSettings::stream_topic_base),
    field("stream_qos", OEMLINK_SETTING_INT, 0, "1", "MQTT QoS of the subscription (0 or 1)",
          &TeslaSettings::stream_qos),
    field("stream_batch_window", OEMLINK_SETTING_DURATION_MS, 0, "10s",
          "Streamed records of one car within this window become one event",
          &TeslaSettings::stream_batch_window_ms),
    field("stream_stale_after", OEMLINK_SETTING_DURATION_MS, 0, "30m",
          "A car whose stream sent nothing for this long is polled again (slowly)",
          &TeslaSettings::stream_stale_after_ms),
    field("stream_fallback_poll_interval", OEMLINK_SETTING_DURATION_MS, 0, "30m",
          "Minimum time between polls of an online car whose stream went silent",
          &TeslaSettings::stream_fallback_poll_interval_ms),
    field("stream_asleep_check_interval", OEMLINK_SETTING_DURATION_MS, 0, "12h",
          "A car asleep as far as its stream tells costs nothing but one vehicle-list call per "
          "account this often (is it awake yet silent?)",
          &TeslaSettings::stream_asleep_check_interval_ms),
    field("telemetry_config_enabled", OEMLINK_SETTING_BOOL, 0, "false",
          "Keep each car's fleet_telemetry_config in line with telemetry_fields",
          &TeslaSettings::telemetry_config_enabled),
    field("telemetry_hostname", OEMLINK_SETTING_STRING, 0, "\"\"",
          "Host name of the operator's fleet-telemetry server (cars connect to it)",
          &TeslaSettings::telemetry_hostname),
    field("telemetry_port", OEMLINK_SETTING_INT, 0, "443", "Port of the fleet-telemetry server",
          &TeslaSettings::telemetry_port),
    field("telemetry_ca_file", OEMLINK_SETTING_STRING, 0, "\"\"",
          "PEM chain that validates the fleet-telemetry server's certificate (config `ca`)",
          &TeslaSettings::telemetry_ca_file),
    field("telemetry_fields", OEMLINK_SETTING_OBJECT, 0, kDefaultTelemetryFields,
          "Fields to stream: {Field: {interval_seconds, minimum_delta}}; the default is chosen "
          "for cost",
          &TeslaSettings::telemetry_fields),
    field("telemetry_partner_key_pem", OEMLINK_SETTING_STRING, OEMLINK_SETTING_SECRET, "\"\"",
          "The partner's P-256 private key (PEM) that signs the config; or use the _file setting",
          &TeslaSettings::telemetry_partner_key_pem),
    field("telemetry_partner_key_file", OEMLINK_SETTING_STRING, 0, "\"\"",
          "File holding the partner's P-256 private key (PEM)",
          &TeslaSettings::telemetry_partner_key_file),
    field("telemetry_recheck_interval", OEMLINK_SETTING_DURATION_MS, 0, "1d",
          "How often each car's telemetry config is read back (configs vanish silently)",
          &TeslaSettings::telemetry_recheck_interval_ms),
};

// Reads the settings JSON with the table, then checks what the host cannot (ranges, URLs,
// cross-field rules, the telemetry field map, files); throws std::invalid_argument with a
// "tesla: setting '<name>' ..." message.
TeslaSettings parse_settings(std::string_view json);

// Parses a telemetry_fields mapping; throws std::invalid_argument naming the field at fault.
std::vector<TelemetryFieldConfig> parse_telemetry_fields(std::string_view json);

}  // namespace oemlink::tesla

#endif
