#include "core/config/tables.hpp"

namespace oemlink::config {
namespace {

constexpr Range kZeroOrMore{0, std::numeric_limits<double>::infinity(), "must be 0 or more", "≥ 0"};

const Setting<QuarantineConfig> kRows[] = {
    {{.key = "after_crashes",
      .type = SettingType::integer,
      .default_value = "3",
      .description = "a driver inside which the host crashed this many times within "
                     "`crash_window` is not loaded at the next start (0: never)",
      .range = kZeroOrMore},
     &QuarantineConfig::after_crashes},
    {{.key = "crash_window",
      .type = SettingType::duration,
      .default_value = "1h",
      .description = "how far back crashes count",
      .range = kPositive},
     &QuarantineConfig::crash_window},
    {{.key = "after_hung_polls",
      .type = SettingType::integer,
      .default_value = "10",
      .description = "a driver with this many polls past its poll_timeout within `hung_window` "
                     "is let go of while running: its connections stop (0: never)",
      .range = kZeroOrMore},
     &QuarantineConfig::after_hung_polls},
    {{.key = "hung_window",
      .type = SettingType::duration,
      .default_value = "1h",
      .description = "how far back hung polls count",
      .range = kPositive},
     &QuarantineConfig::hung_window},
};

}  // namespace

const SettingBlock<QuarantineConfig> kQuarantineBlock{
    .path = "quarantine",
    .intro =
        "Drivers that keep failing the host are quarantined: not loaded until an operator "
        "runs `oemlink plugins unquarantine NAME`.",
    .rows = kRows,
};

}  // namespace oemlink::config
