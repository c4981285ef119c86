// The Smartcar driver's settings: one typed table that is both what the host validates the YAML
// against and how the JSON it passes becomes a SmartcarSettings.
#ifndef OEMLINK_SMARTCAR_SETTINGS_HPP
#define OEMLINK_SMARTCAR_SETTINGS_HPP

#include <oemlink/settings.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace oemlink::smartcar {

// The permissions the linking flow asks for: what the mapped signals need (signal_mapper.cpp),
// plus read_vehicle_info and read_vin for the vehicle list.
inline constexpr std::string_view kDefaultScope =
    "read_vehicle_info read_vin read_odometer read_battery read_charge read_location read_tires "
    "read_fuel read_speedometer read_thermometer";

// Initializers repeat the table's defaults, so a test passing "{}" plus the required keys gets
// what the host would fill in.
struct SmartcarSettings {
  std::string client_id;
  std::string client_secret;
  std::string amt;  // application management token: the webhook HMAC key
  std::string auth_base_url = "https://auth.smartcar.com";
  std::string api_base_url = "https://vehicle.api.smartcar.com/v3";
  std::string v2_base_url = "https://api.smartcar.com/v2.0";
  std::string connect_base_url = "https://connect.smartcar.com";
  std::string mode = "live";  // Smartcar Connect mode of the linking flow
  std::string scope = std::string(kDefaultScope);
  bool use_v2_batch = false;
  std::vector<std::string> v2_batch_paths = {
      "/odometer", "/location", "/battery", "/charge", "/charge/limit", "/fuel", "/tires/pressure"};
  std::string v2_unit_system = "metric";
  int64_t max_pages = 10;
  int64_t request_budget_capacity = 120;
  double request_budget_refill_per_minute = 2;
  std::chrono::milliseconds token_refresh_margin{5 * 60 * 1000};
  std::chrono::milliseconds request_timeout{120 * 1000};
  int64_t webhook_dedupe_size = 4096;
};

inline constexpr SettingsTable kSettingsTable{
    field("client_id", OEMLINK_SETTING_STRING, OEMLINK_SETTING_REQUIRED, nullptr,
          "Smartcar application client id", &SmartcarSettings::client_id),
    field("client_secret", OEMLINK_SETTING_STRING,
          OEMLINK_SETTING_REQUIRED | OEMLINK_SETTING_SECRET, nullptr,
          "Smartcar application client secret (HTTP Basic auth at the token endpoint)",
          &SmartcarSettings::client_secret),
    field("amt", OEMLINK_SETTING_STRING, OEMLINK_SETTING_SECRET, "\"\"",
          "Application management token: the HMAC-SHA256 key of webhook signatures and the "
          "VERIFY challenge; empty = webhooks refused with 401",
          &SmartcarSettings::amt),
    field("auth_base_url", OEMLINK_SETTING_STRING, 0, "https://auth.smartcar.com",
          "Token endpoint base (POST <base>/oauth/token)", &SmartcarSettings::auth_base_url),
    field("api_base_url", OEMLINK_SETTING_STRING, 0, "https://vehicle.api.smartcar.com/v3",
          "Vehicle API v3 base (GET <base>/vehicles/{id}/signals)",
          &SmartcarSettings::api_base_url),
    field("v2_base_url", OEMLINK_SETTING_STRING, 0, "https://api.smartcar.com/v2.0",
          "Legacy v2.0 API base: linking (/user, /vehicles) and use_v2_batch",
          &SmartcarSettings::v2_base_url),
    field("connect_base_url", OEMLINK_SETTING_STRING, 0, "https://connect.smartcar.com",
          "Smartcar Connect base: the linking consent page, and the re-auth URL when an error "
          "carries none",
          &SmartcarSettings::connect_base_url),
    field("mode", OEMLINK_SETTING_STRING, 0, "live",
          "Smartcar Connect mode of the linking flow: live, test or simulated",
          &SmartcarSettings::mode),
    field("scope", OEMLINK_SETTING_STRING, 0, kDefaultScope.data(),  // a literal: NUL-terminated
          "Permissions the linking flow asks for, space-separated (a required: prefix is "
          "allowed)",
          &SmartcarSettings::scope),
    field("use_v2_batch", OEMLINK_SETTING_BOOL, 0, "false",
          "Poll with v2 POST /vehicles/{id}/batch instead of v3 signals (retired in 2026)",
          &SmartcarSettings::use_v2_batch),
    field("v2_batch_paths", OEMLINK_SETTING_OBJECT, 0,
          "[/odometer, /location, /battery, /charge, /charge/limit, /fuel, /tires/pressure]",
          "v2 paths requested in one batch (each is billed)", &SmartcarSettings::v2_batch_paths),
    field("v2_unit_system", OEMLINK_SETTING_STRING, 0, "metric",
          "SC-Unit-System sent with v2 batch requests: metric or imperial",
          &SmartcarSettings::v2_unit_system),
    field("max_pages", OEMLINK_SETTING_INT, 0, "10",
          "Most signals pages followed through links.next in one poll",
          &SmartcarSettings::max_pages),
    field("request_budget_capacity", OEMLINK_SETTING_INT, 0, "120",
          "Smartcar's per-application request bucket: capacity (shared by all cars)",
          &SmartcarSettings::request_budget_capacity),
    field("request_budget_refill_per_minute", OEMLINK_SETTING_NUMBER, 0, "2",
          "Smartcar's per-application request bucket: tokens added per minute",
          &SmartcarSettings::request_budget_refill_per_minute),
    field("token_refresh_margin", OEMLINK_SETTING_DURATION_MS, 0, "5m",
          "Refresh the access token this long before it expires",
          &SmartcarSettings::token_refresh_margin),
    field("request_timeout", OEMLINK_SETTING_DURATION_MS, 0, "120s",
          "Timeout of one HTTP request to Smartcar", &SmartcarSettings::request_timeout),
    field("webhook_dedupe_size", OEMLINK_SETTING_INT, 0, "4096",
          "Webhook eventIds remembered (in memory) to drop retried deliveries",
          &SmartcarSettings::webhook_dedupe_size),
};

// Reads the settings JSON with the table, then checks what the host cannot (URLs, ranges);
// throws std::invalid_argument with a "smartcar: ..." message naming the setting.
SmartcarSettings parse_settings(std::string_view json);

}  // namespace oemlink::smartcar

#endif  // OEMLINK_SMARTCAR_SETTINGS_HPP
