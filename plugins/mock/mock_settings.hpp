// The mock driver's settings: the table the host validates YAML against, and the parsed form.
#ifndef OEMLINK_MOCK_SETTINGS_HPP
#define OEMLINK_MOCK_SETTINGS_HPP

#include <oemlink/driver.hpp>

#include <cstdint>
#include <string_view>

namespace oemlink::mock {

inline constexpr oemlink_setting kSettingsTable[] = {
    setting("seed", OEMLINK_SETTING_INT, 0, "1",
            "Seed of the simulation; each car derives its own from (seed, connection id)"),
    setting("asleep_rate", OEMLINK_SETTING_NUMBER, 0, "0",
            "Probability per poll that the car reports asleep"),
    setting("rate_limited_rate", OEMLINK_SETTING_NUMBER, 0, "0",
            "Probability per poll of a simulated HTTP 429"),
    setting("error_rate", OEMLINK_SETTING_NUMBER, 0, "0",
            "Probability per poll of an error; per stream batch of a dropped stream"),
    setting("retry_rate", OEMLINK_SETTING_NUMBER, 0, "0",
            "Probability per poll of a transient failure (simulated HTTP 503)"),
    setting("rate_limit_retry_after", OEMLINK_SETTING_DURATION_MS, 0, "1h",
            "How long a simulated 429 asks the host to wait"),
    setting("reauth_after_polls", OEMLINK_SETTING_INT, 0, "0",
            "After this many polls a connection needs re-authorisation; 0 = never"),
    setting("latency", OEMLINK_SETTING_DURATION_MS, 0, "0ms",
            "Simulated API latency; 0 completes polls synchronously"),
    setting("stream_interval", OEMLINK_SETTING_DURATION_MS, 0, "1s",
            "Time between batches in stream mode"),
    setting("fail_create", OEMLINK_SETTING_BOOL, 0, "false",
            "Make instance creation fail (tests the host's error path)"),
    setting("signals", OEMLINK_SETTING_OBJECT, 0, nullptr,
            "List of DIMO signal names to emit; default all"),
};

struct MockSettings {
  uint64_t seed = 1;
  double asleep_rate = 0;
  double rate_limited_rate = 0;
  double error_rate = 0;
  double retry_rate = 0;
  int64_t rate_limit_retry_after_ms = 3600000;
  uint32_t reauth_after_polls = 0;
  uint32_t latency_ms = 0;
  uint32_t stream_interval_ms = 1000;
  bool fail_create = false;
  uint32_t signal_mask = ~0u;  // bit i = SignalId i (see car_sim.hpp)
};

// Parses and checks the settings JSON; throws std::invalid_argument with a "mock: ..." message.
MockSettings parse_settings(std::string_view json);

}  // namespace oemlink::mock

#endif  // OEMLINK_MOCK_SETTINGS_HPP
