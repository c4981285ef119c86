#include "core/cli/doctor.hpp"

#include "core/common/json_string.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <iterator>

namespace oemlink::cli {

bool DoctorReport::ok() const {
  return std::none_of(rows.begin(), rows.end(),
                      [](const DoctorRow& r) { return r.result == CheckResult::fail; });
}

const char* result_name(CheckResult result) {
  switch (result) {
    case CheckResult::pass:
      return "pass";
    case CheckResult::warn:
      return "warn";
    case CheckResult::fail:
      return "fail";
    case CheckResult::skip:
      return "skip";
  }
  return "?";
}

namespace {

size_t count(const DoctorReport& report, CheckResult result) {
  return static_cast<size_t>(std::count_if(report.rows.begin(), report.rows.end(),
                                           [&](const DoctorRow& r) { return r.result == result; }));
}

}  // namespace

std::string doctor_table(const DoctorReport& report) {
  size_t width = 5;
  for (const DoctorRow& r : report.rows) width = std::max(width, r.check.size());
  auto pad = [&](const std::string& s) { return s + std::string(width - s.size() + 2, ' '); };
  std::string out = pad("CHECK") + "RESULT  DETAIL\n";
  for (const DoctorRow& r : report.rows) {
    out += pad(r.check) + result_name(r.result) + "    ";
    // A multi-line detail (a configuration's list of errors) stays under its column.
    for (char c : r.detail)
      out += c == '\n' ? "\n" + std::string(width + 10, ' ') : std::string(1, c);
    out += "\n";
  }
  return out + std::to_string(count(report, CheckResult::pass)) + " passed, " +
         counted(count(report, CheckResult::warn), "warning") + ", " +
         std::to_string(count(report, CheckResult::fail)) + " failed, " +
         std::to_string(count(report, CheckResult::skip)) +
         " skipped: " + (report.ok() ? "OK" : "FAILED") + "\n";
}

std::string doctor_json(const DoctorReport& report) {
  std::string out = "{\"ok\":";
  out += report.ok() ? "true" : "false";
  for (CheckResult r : {CheckResult::pass, CheckResult::warn, CheckResult::fail, CheckResult::skip})
    out += ",\"" + std::string(result_name(r)) + "\":" + std::to_string(count(report, r));
  out += ",\"checks\":[";
  for (size_t i = 0; i < report.rows.size(); ++i) {
    const DoctorRow& r = report.rows[i];
    out += i ? ",{\"check\":" : "{\"check\":";
    append_json_string(out, r.check);
    out += ",\"result\":\"" + std::string(result_name(r.result)) + "\",\"detail\":";
    append_json_string(out, r.detail);
    out += "}";
  }
  return out + "]}\n";
}

std::string human_bytes(uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  size_t u = 0;
  while (v >= 1024 && u + 1 < std::size(units)) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
  return buf;
}

std::string counted(size_t n, const std::string& noun) {
  return std::to_string(n) + " " + noun + (n == 1 ? "" : "s");
}

std::string utc_date(SystemTime t) {
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", &tm);
  return buf;
}

}  // namespace oemlink::cli
