// DriverQuarantine: which drivers the host will not load because they keep failing it.
//
// Its memory is `<data_dir>/driver-faults.log`, one record per line, appended only:
//   crash <unix_ms> <driver> <call>            written by the fatal-signal handler
//                                              (driver_call_frame.hpp) as the process dies
//   quarantine <unix_ms> <driver> <reason...>  written when a start counts too many crashes,
//                                              or when a running driver hangs too many polls
//   clear <unix_ms> <driver>                   written by `oemlink plugins unquarantine NAME`
// A driver is quarantined when a `quarantine` record follows its last `clear`, or when
// `quarantine.after_crashes` crashes within `quarantine.crash_window` follow it (the start then
// writes the `quarantine` record, so it stays quarantined after the window: only an operator
// clears it). Appends of one short line with O_APPEND are whole or absent on a local
// filesystem; a torn last line (a full disk) is ignored when read.
//
// Threading: any thread; appends are single write(2) calls.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace oemlink::host {

struct QuarantinePolicy {
  uint32_t after_crashes = 3;
  std::chrono::milliseconds crash_window{3'600'000};
};

struct QuarantineState {
  bool quarantined = false;
  std::string reason;           // why, for the log and `oemlink status`
  uint32_t recent_crashes = 0;  // since the last clear, within the window
  std::string last_call;        // the call of the last crash ("poll", "open", ...)
  int64_t last_crash_ms = 0;
};

// A quarantine window as its reasons word it: "1 h", "90 min".
std::string window_text(std::chrono::milliseconds d);

class DriverQuarantine {
 public:
  explicit DriverQuarantine(std::filesystem::path log_file);

  // Reads the log and judges each of `drivers` at `now_ms`. With `record`, a driver that crosses
  // the crash threshold now gets its `quarantine` record written here (the daemon's start);
  // without, nothing is written (`oemlink plugins list`). Throws std::runtime_error naming the
  // file when a record cannot be written.
  std::map<std::string, QuarantineState> judge(const std::vector<std::string>& drivers,
                                               const QuarantinePolicy& policy, int64_t now_ms,
                                               bool record = true);

  // Appends a quarantine of `driver` (a running driver hung too many polls, say). Throws
  // std::runtime_error naming the file when it cannot be written.
  void quarantine(std::string_view driver, int64_t now_ms, std::string_view reason);
  // Appends a clear: `driver` loads at the next start (or reload that names it).
  void clear(std::string_view driver, int64_t now_ms);

  const std::filesystem::path& file() const { return file_; }

 private:
  void append(const std::string& line);
  std::filesystem::path file_;
};

}  // namespace oemlink::host
