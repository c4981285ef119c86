// How a log line is written, for spdlog: text (the default; unchanged in shape) or one JSON
// object per line for Fluent Bit and the OpenTelemetry Collector:
//
//   {"ts":"2026-12-02T03:04:05.678Z","level":"warn","msg":"…","driver":"tesla",
//    "connection":"car-1","sink":"ingest","event_id":"…","route":"…","listener":"inbound",
//    "suppressed":12}
//
// `ts` is RFC 3339 UTC with milliseconds; `level` one of trace, debug, info, warn, error,
// critical; the structured fields (log_fields.hpp) appear only when known; `suppressed` only on a
// line a LogGate let through after dropping similar ones (text: "(N similar messages
// suppressed)"). Every message passes redact_secrets first; every string is JSON-escaped, with
// control characters as \u00XX and invalid UTF-8 replaced by U+FFFD, so each line parses.
#pragma once

#include "core/common/log_fields.hpp"

#include <spdlog/formatter.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

namespace oemlink {

enum class LogLineStyle { text, json };

// [any-thread] A formatter for an spdlog logger or sink.
std::unique_ptr<spdlog::formatter> make_log_formatter(LogLineStyle style);

// One JSON line's object (no newline): what the JSON formatter writes.
void append_json_log_line(std::string& out, std::chrono::system_clock::time_point at,
                          spdlog::level::level_enum level, std::string_view msg,
                          const LogFields& fields, uint64_t suppressed);

// A JSON string for a log line: like append_json_string, and also valid for any bytes (invalid
// UTF-8 becomes U+FFFD, DEL is escaped).
void append_log_json_string(std::string& out, std::string_view s);

// The message as written: redacted, with the suppression note in text style.
std::string log_message_text(std::string_view msg, uint64_t suppressed);

}  // namespace oemlink
