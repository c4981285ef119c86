#include "core/config/tables.hpp"
#include "core/config/value_checks.hpp"

namespace oemlink::config {
namespace {

constexpr std::string_view kOnLoadError[] = {"fail", "skip"};
constexpr std::string_view kIsolation[] = {"in_process", "process"};
constexpr std::string_view kModes[] = {"poll", "stream", "driver_stream", "poll+driver_stream"};

const Setting<DriverConfig> kRows[] = {
    {{.key = "name",
      .type = SettingType::string,
      .flags = kRequired,
      .description = "referenced by connections; unique",
      .check = {is_lower_name, "must match [a-z0-9_-]+"},
      .shape = "`[a-z0-9_-]+`"},
     &DriverConfig::name},
    // A bare name stays unresolved (the loader searches its plugin directories); the loader
    // resolves a value with '/' against the config file's directory.
    {{.key = "library",
      .type = SettingType::string,
      .flags = kRequired | kNotEmpty,
      .description = "the driver's shared library: a bare name (`tesla`) searched in the plugin "
                     "directories, or a path (with `/`) relative to the config file's directory",
      .shape = "bare name or path"},
     &DriverConfig::library},
    {{.key = "on_load_error",
      .type = SettingType::choice,
      .default_value = "fail",
      .description = "`skip`: start without this driver when its library cannot be loaded or "
                     "its instance cannot be created",
      .choices = kOnLoadError},
     +[](DriverConfig& out, size_t choice) {
       out.on_load_error = choice == 0 ? OnLoadError::fail : OnLoadError::skip;
     }},
    {{.key = "isolation",
      .type = SettingType::choice,
      .default_value = "in_process",
      .description = "`process`: the driver runs in a child process of its own, restarted with "
                     "back-off when it crashes or hangs; a crash then costs only its polls in "
                     "flight, never the host",
      .choices = kIsolation},
     +[](DriverConfig& out, size_t choice) {
       out.isolation = choice == 0 ? DriverIsolation::in_process : DriverIsolation::process;
     }},
    {{.key = "mode",
      .type = SettingType::choice,
      .default_value = "poll",
      .description = "polled by the host, a stream per connection, one stream per driver, or "
                     "polls plus one stream per driver (the driver skips cars its stream "
                     "covers); the driver must declare the capabilities",
      .choices = kModes},
     +[](DriverConfig& out, size_t choice) {
       constexpr IngestMode kByChoice[] = {IngestMode::poll, IngestMode::stream,
                                           IngestMode::driver_stream,
                                           IngestMode::poll_and_driver_stream};
       out.mode = kByChoice[choice];
     }},
    {{.key = "poll_interval",
      .type = SettingType::duration,
      .default_value = "5m",
      .description = "time between polls of one car",
      .range = kPositive},
     &DriverConfig::poll_interval},
    {{.key = "asleep_interval",
      .type = SettingType::duration,
      .default_value = "15m",
      .description = "poll interval while the car sleeps",
      .range = kPositive},
     &DriverConfig::asleep_interval},
    {{.key = "max_concurrent_requests",
      .type = SettingType::integer,
      .default_value = "64",
      .description = "polls of this driver in flight at once",
      .range = kAtLeastOne},
     &DriverConfig::max_concurrent_requests},
    {{.key = "rate_limit", .type = SettingType::block, .description = "see `drivers[].rate_limit`"},
     {}},
    {{.key = "settings",
      .type = SettingType::mapping,
      .default_note = "empty",
      .description = "the driver's own settings, checked against its table (`oemlink plugins "
                     "info NAME`)"},
     {}},
    {{.key = "poll_timeout",
      .type = SettingType::duration,
      .default_value = "5m",
      .description =
          "a poll whose completion has not arrived by then is logged as hung, "
          "counted (`oemlink_polls_hung_total`) and treated as failed; its late completion "
          "is ignored",
      .range = kPositive},
     &DriverConfig::poll_timeout},
};

const Setting<RateLimitConfig> kRateLimitRows[] = {
    // 0.001 and up is checked by the loader: below one request per ~17 minutes a poll interval
    // says it better, and such rates are almost always a unit mistake.
    {{.key = "per_second",
      .type = SettingType::number,
      .default_value = "0",
      .description = "polls started per second for this driver (token bucket); 0: unlimited",
      .range = {0, std::numeric_limits<double>::infinity(), "must not be negative", ""},
      .shape = "0 or number ≥ 0.001"},
     &RateLimitConfig::per_second},
    {{.key = "burst",
      .type = SettingType::integer,
      .default_value = "1",
      .description = "polls that may start at once after a quiet spell",
      .range = kAtLeastOne},
     &RateLimitConfig::burst},
};

}  // namespace

const SettingBlock<DriverConfig> kDriverBlock{
    .path = "drivers[]",
    .intro = "A list; one driver instance per entry.",
    .rows = kRows,
};

const SettingBlock<RateLimitConfig> kRateLimitBlock{
    .path = "drivers[].rate_limit",
    .intro = "How fast one driver may start polls.",
    .rows = kRateLimitRows,
};

}  // namespace oemlink::config
