#include "core/host/driver_quarantine.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace oemlink::host {
namespace {

// Records from a little ahead of now still count (clocks of two processes, a small step).
constexpr int64_t kFutureSlackMs = 60'000;

struct Record {
  std::string kind, driver, rest;
  int64_t ms = 0;
};

std::vector<Record> read_records(const std::filesystem::path& file) {
  std::vector<Record> out;
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    if (in.eof()) break;         // no newline: torn by a full disk or a crash mid-write
    if (line.empty()) continue;  // every record starts with one (see append)
    std::istringstream words(line);
    Record r;
    if (!(words >> r.kind >> r.ms >> r.driver)) continue;
    if (r.kind != "crash" && r.kind != "quarantine" && r.kind != "clear") continue;
    std::getline(words >> std::ws, r.rest);
    out.push_back(std::move(r));
  }
  return out;
}

// Names are written into one space-separated line: anything else is replaced.
std::string one_word(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c <= ' ' || c == 0x7f) c = '_';
  return out.empty() ? "_" : out;
}

std::string one_line(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c < ' ' || c == 0x7f) c = ' ';
  return out;
}

}  // namespace

std::string window_text(std::chrono::milliseconds d) {
  const auto m = std::chrono::duration_cast<std::chrono::minutes>(d).count();
  return m >= 60 && m % 60 == 0 ? std::to_string(m / 60) + " h" : std::to_string(m) + " min";
}

DriverQuarantine::DriverQuarantine(std::filesystem::path log_file) : file_(std::move(log_file)) {}

std::map<std::string, QuarantineState> DriverQuarantine::judge(
    const std::vector<std::string>& drivers, const QuarantinePolicy& policy, int64_t now_ms,
    bool record) {
  const std::vector<Record> records = read_records(file_);
  std::map<std::string, QuarantineState> out;
  for (const std::string& name : drivers) {
    const std::string key = one_word(name);
    // In the order written (the log is appended only): a clear ends everything before it,
    // whatever the clocks said when each line was written.
    QuarantineState s;
    for (const Record& r : records) {
      if (r.driver != key) continue;
      if (r.kind == "clear") {
        s = QuarantineState{};
      } else if (r.kind == "quarantine") {
        s.quarantined = true;
        s.reason = r.rest;
      } else if (r.kind == "crash" && r.ms >= now_ms - policy.crash_window.count() &&
                 r.ms <= now_ms + kFutureSlackMs) {
        // A crash stamped ahead of now (a clock since stepped back, a board before NTP) is not
        // counted: it would count forever.
        ++s.recent_crashes;
        s.last_call = r.rest;
        s.last_crash_ms = std::max(s.last_crash_ms, r.ms);
      }
    }
    if (!s.quarantined && policy.after_crashes > 0 && s.recent_crashes >= policy.after_crashes) {
      s.quarantined = true;
      s.reason = "crashed the host " + std::to_string(s.recent_crashes) + " times within " +
                 window_text(policy.crash_window) + " (last in its " + s.last_call + " call)";
      if (record) quarantine(name, now_ms, s.reason);
    }
    out.emplace(name, std::move(s));
  }
  return out;
}

void DriverQuarantine::quarantine(std::string_view driver, int64_t now_ms,
                                  std::string_view reason) {
  append("\nquarantine " + std::to_string(now_ms) + " " + one_word(driver) + " " +
         one_line(reason) + "\n");
}

void DriverQuarantine::clear(std::string_view driver, int64_t now_ms) {
  append("\nclear " + std::to_string(now_ms) + " " + one_word(driver) + "\n");
}

void DriverQuarantine::append(const std::string& line) {
  int fd = ::open(file_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0)
    throw std::runtime_error("cannot open " + file_.string() + ": " + std::strerror(errno));
  ssize_t w = ::write(fd, line.data(), line.size());
  const int err = errno;
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (w != static_cast<ssize_t>(line.size()) || !synced)
    throw std::runtime_error("cannot write " + file_.string() + ": " +
                             std::strerror(w < 0 ? err : ENOSPC));
}

}  // namespace oemlink::host
