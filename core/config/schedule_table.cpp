#include "core/config/tables.hpp"

namespace oemlink::config {
namespace {

const Setting<ScheduleConfig> kRows[] = {
    {{.key = "jitter",
      .type = SettingType::number,
      .default_value = "0.1",
      .description = "each interval varies by ± this fraction, so cars do not poll in step",
      .range = {0, 0.5, "must be between 0 and 0.5", "in [0, 0.5]"}},
     &ScheduleConfig::jitter},
    {{.key = "max_backoff",
      .type = SettingType::duration,
      .default_value = "1h",
      .description = "cap for exponential back-off after failures",
      .range = kPositive},
     &ScheduleConfig::max_backoff},
    {{.key = "shutdown_timeout",
      .type = SettingType::duration,
      .default_value = "10s",
      .description = "how long in-flight work gets at SIGTERM"},
     &ScheduleConfig::shutdown_timeout},
    {{.key = "slow_call_warning",
      .type = SettingType::duration,
      .default_value = "1s",
      .description = "driver calls slower than this are logged and counted",
      .range = kPositive},
     &ScheduleConfig::slow_call_warning},
};

}  // namespace

const SettingBlock<ScheduleConfig> kScheduleBlock{
    .path = "schedule",
    .intro = "When connections are polled.",
    .rows = kRows,
};

}  // namespace oemlink::config
