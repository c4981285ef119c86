// The mock driver's settings: one typed table that is both what the host validates the YAML
// against and how the JSON it passes becomes a MockSettings.
#ifndef OEMLINK_MOCK_SETTINGS_HPP
#define OEMLINK_MOCK_SETTINGS_HPP

#include <oemlink/settings.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace oemlink::mock {

// Initializers are the table's defaults: the host fills those in, and tests that pass "{}"
// straight to create() get the same car.
struct MockSettings {
  int64_t seed = 1;
  double asleep_rate = 0;
  double rate_limited_rate = 0;
  double error_rate = 0;
  double retry_rate = 0;
  int64_t rate_limit_retry_after_ms = 3600000;
  uint32_t reauth_after_polls = 0;
  uint32_t latency_ms = 0;
  uint32_t stream_interval_ms = 1000;
  bool fail_create = false;
  bool webhook = false;
  std::string link_authorize_url = "https://mock-oem.invalid/authorize";
  std::optional<std::vector<std::string>> signals;  // nullopt: all

  uint32_t signal_mask = ~0u;  // from `signals`: bit i = SignalId i (see car_sim.hpp)
};

inline constexpr SettingsTable kSettingsTable{
    field("seed", OEMLINK_SETTING_INT, 0, "1",
          "Seed of the simulation; each car derives its own from (seed, connection id)",
          &MockSettings::seed),
    field("asleep_rate", OEMLINK_SETTING_NUMBER, 0, "0",
          "Probability per poll that the car reports asleep", &MockSettings::asleep_rate),
    field("rate_limited_rate", OEMLINK_SETTING_NUMBER, 0, "0",
          "Probability per poll of a simulated HTTP 429", &MockSettings::rate_limited_rate),
    field("error_rate", OEMLINK_SETTING_NUMBER, 0, "0",
          "Probability per poll of an error; per stream batch of a dropped stream",
          &MockSettings::error_rate),
    field("retry_rate", OEMLINK_SETTING_NUMBER, 0, "0",
          "Probability per poll of a transient failure (simulated HTTP 503)",
          &MockSettings::retry_rate),
    field("rate_limit_retry_after", OEMLINK_SETTING_DURATION_MS, 0, "1h",
          "How long a simulated 429 asks the host to wait",
          &MockSettings::rate_limit_retry_after_ms),
    field("reauth_after_polls", OEMLINK_SETTING_INT, 0, "0",
          "After this many polls a connection needs re-authorisation; 0 = never",
          &MockSettings::reauth_after_polls),
    field("latency", OEMLINK_SETTING_DURATION_MS, 0, "0ms",
          "Simulated API latency; 0 completes polls synchronously", &MockSettings::latency_ms),
    field("stream_interval", OEMLINK_SETTING_DURATION_MS, 0, "1s",
          "Time between batches in stream mode", &MockSettings::stream_interval_ms),
    field("fail_create", OEMLINK_SETTING_BOOL, 0, "false",
          "Make instance creation fail (tests the host's error path)", &MockSettings::fail_create),
    field("webhook", OEMLINK_SETTING_BOOL, 0, "false",
          "Serve POST /webhooks/<instance> for this instance's connections (off: 404)",
          &MockSettings::webhook),
    field("link_authorize_url", OEMLINK_SETTING_STRING, 0, "https://mock-oem.invalid/authorize",
          "Consent page the linking flow redirects to (oemlink.link/1; a test double)",
          &MockSettings::link_authorize_url),
    field("signals", OEMLINK_SETTING_OBJECT, 0, nullptr,
          "List of DIMO signal names to emit; default all", &MockSettings::signals),
};

// Reads the settings JSON with the table, then checks what the host cannot (ranges, signal
// names); throws std::invalid_argument with a "mock: ..." message.
MockSettings parse_settings(std::string_view json);

}  // namespace oemlink::mock

#endif  // OEMLINK_MOCK_SETTINGS_HPP
