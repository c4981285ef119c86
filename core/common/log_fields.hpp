// Structured fields of log lines (driver, connection, sink, event id, listener route): the JSON
// log writes each as its own member, so a collector can filter on them without parsing messages.
//
// spdlog formats synchronously on the calling thread, and the host runs one loop, so the fields
// travel beside the message in thread-local state: a LogScope set where the host calls into a
// driver (or a dispatcher works for a sink) covers every line logged inside the call, including
// the driver's own through its log callback. `log_with` is the explicit form, for a line about
// another object than the one whose work is in progress.
//
// The views must outlive the scope; scopes nest (inner non-empty fields win) and are cheap: a
// few pointer copies, no allocation.
#pragma once

#include <spdlog/spdlog.h>

#include <cstdint>
#include <string_view>
#include <utility>

namespace oemlink {

struct LogFields {
  std::string_view driver{};
  std::string_view connection{};
  std::string_view sink{};
  std::string_view event_id{};
  std::string_view route{};     // the inbound listener's route of a request
  std::string_view listener{};  // the listener's name (inbound, admin)
};

// [any-thread] The fields in force on this thread (empty outside every scope).
const LogFields& current_log_fields();
// [any-thread] How many similar lines a LogGate dropped before the line being logged now
// (0 for ungated lines); the formatter writes it as `suppressed`.
uint64_t current_log_suppressed();

class LogScope {
 public:
  // [any-thread] Sets the non-empty fields of `f` on this thread until destroyed.
  explicit LogScope(const LogFields& f);
  // For one gated line: `suppressed` similar lines were dropped before it.
  LogScope(const LogFields& f, uint64_t suppressed);
  ~LogScope();
  LogScope(const LogScope&) = delete;
  LogScope& operator=(const LogScope&) = delete;

 private:
  LogFields saved_;
  uint64_t saved_suppressed_;
};

// [any-thread] One line with `fields` (on top of those in force).
template <class... Args>
void log_with(const LogFields& fields, spdlog::level::level_enum level,
              fmt::format_string<Args...> format, Args&&... args) {
  if (!spdlog::should_log(level)) return;
  LogScope scope(fields);
  spdlog::log(level, format, std::forward<Args>(args)...);
}

}  // namespace oemlink
