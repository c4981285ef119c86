// `oemlink doctor`: the checks of a deployment, each its own function in its own doctor_*.cpp,
// and the table they fill. Every check only reads (the data-dir lock is probed, never taken), so
// doctor runs beside the daemon. A detail names files, sources and figures, never a secret: KEKs,
// keys and tokens are only ever loaded, used and dropped.
#pragma once

#include "core/cli/tls_probe.hpp"
#include "core/config/config.hpp"

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace oemlink::cli {

// skip: not applicable here, or not checkable because an earlier check failed (the detail says
// which); it does not fail the run by itself.
enum class CheckResult { pass, warn, fail, skip };

struct DoctorRow {
  std::string check;  // "config", "sink ingest: reachable", ...
  CheckResult result = CheckResult::pass;
  std::string detail;
};

struct DoctorReport {
  std::vector<DoctorRow> rows;
  void add(std::string check, CheckResult result, std::string detail) {
    rows.push_back({std::move(check), result, std::move(detail)});
  }
  bool ok() const;  // no row failed
};

// What the checks share: the configuration (when it loaded), the daemon holding the data dir
// (0: none), and each HTTPS sink's probe, which the clock check reads its Date from.
struct DoctorContext {
  std::string config_path;  // empty: the built-in default
  std::optional<config::Config> cfg;
  pid_t daemon_pid = 0;
  std::map<std::string, TlsProbeResult> https_probes;  // by sink name
};

// In the order doctor runs them; each adds one or more rows.
void doctor_config(DoctorContext& ctx, DoctorReport& report);     // doctor_config.cpp
void doctor_data_dir(DoctorContext& ctx, DoctorReport& report);   // doctor_data_dir.cpp
void doctor_keys(DoctorContext& ctx, DoctorReport& report);       // doctor_keys.cpp
void doctor_sinks(DoctorContext& ctx, DoctorReport& report);      // doctor_sinks.cpp
void doctor_drivers(DoctorContext& ctx, DoctorReport& report);    // doctor_drivers.cpp
void doctor_clock(DoctorContext& ctx, DoctorReport& report);      // doctor_clock.cpp
void doctor_listeners(DoctorContext& ctx, DoctorReport& report);  // doctor_listeners.cpp

// The report for people (an aligned table) and for machines (one JSON object).
std::string doctor_table(const DoctorReport& report);  // doctor_report.cpp
std::string doctor_json(const DoctorReport& report);
const char* result_name(CheckResult result);

// Shared wording: "3 days", "1.2 GiB", "2027-03-01".
std::string human_bytes(uint64_t bytes);
std::string counted(size_t n, const std::string& noun);  // "1 sink", "2 sinks"
std::string utc_date(SystemTime t);
// The check rows' prefix when the configuration did not load.
inline constexpr const char* kNoConfig = "the configuration did not load";

}  // namespace oemlink::cli
