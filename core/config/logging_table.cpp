#include "core/config/tables.hpp"

namespace oemlink::config {
namespace {

constexpr std::string_view kLevels[] = {"trace", "debug", "info", "warn", "error"};
constexpr std::string_view kFormats[] = {"text", "json"};

const Setting<LoggingConfig> kRows[] = {
    {{.key = "level",
      .type = SettingType::choice,
      .default_value = "info",
      .description = "the least severe message logged",
      .choices = kLevels},
     &LoggingConfig::level},
    {{.key = "format",
      .type = SettingType::choice,
      .default_value = "text",
      .description = "`json`: one object per line for log collectors (Fluent Bit, the "
                     "OpenTelemetry Collector): `ts`, `level`, `msg`, and where known `driver`, "
                     "`connection`, `sink`, `event_id`, `route`, `listener`, `suppressed`",
      .choices = kFormats},
     +[](LoggingConfig& out, size_t choice) {
       out.format = choice == 0 ? LogFormat::text : LogFormat::json;
     }},
    // The log is an output, like sink files: it belongs with the data.
    {{.key = "file",
      .type = SettingType::path,
      .default_note = "empty: stderr",
      .description = "append the log to this file instead of stderr",
      .base = PathBase::data_dir},
     &LoggingConfig::file},
};

}  // namespace

const SettingBlock<LoggingConfig> kLoggingBlock{
    .path = "logging",
    .intro =
        "What the daemon logs and where to. Secret values (tokens, `Authorization` "
        "credentials, client secrets) are masked in every line, the drivers' included; "
        "repeated failures are rate-limited, and the next line that gets through says how "
        "many were suppressed (counter `oemlink_log_lines_suppressed_total`).",
    .rows = kRows,
};

}  // namespace oemlink::config
