// Clock skew against the ingest's 5-minute rule (DIS refuses an event whose time is more than 5
// minutes off): our clock against the Date header of the dimo_https sink's peer, read from the
// answer doctor_sinks already got. Date has a one-second resolution, which is plenty here.
// The thresholds are the running daemon's (net/clock_skew_estimator.hpp): past a minute /readyz
// reports the check "clock" failing and the metric oemlink_clock_skew_seconds shows the same
// sign (positive: our clock ahead); past five minutes, without the daemon's correction, the
// ingest would prune what we send.
#include "core/cli/doctor.hpp"
#include "core/net/clock_skew_estimator.hpp"

#include <cstdlib>

namespace oemlink::cli {
using namespace std::chrono;

namespace {
constexpr seconds kWarnBeyond = duration_cast<seconds>(milliseconds(net::kClockSkewNotReadyMs));
constexpr seconds kFailBeyond = duration_cast<seconds>(milliseconds(net::kIngestMaxFutureMs));
}  // namespace

void doctor_clock(DoctorContext& ctx, DoctorReport& report) {
  if (!ctx.cfg) {
    report.add("clock", CheckResult::skip, kNoConfig);
    return;
  }
  if (ctx.https_probes.empty()) {
    report.add("clock", CheckResult::skip, "no dimo_https sink to compare with");
    return;
  }
  for (const auto& [sink, probe] : ctx.https_probes) {
    const std::string check = ctx.https_probes.size() == 1 ? "clock" : "clock (sink " + sink + ")";
    if (!probe.answered) {
      report.add(check, CheckResult::fail,
                 "no HTTPS answer from sink " + sink + " to read a Date from");
      continue;
    }
    if (!probe.date) {
      report.add(check, CheckResult::warn, "sink " + sink + "'s peer sent no Date header");
      continue;
    }
    const auto skew = duration_cast<seconds>(system_clock::now() - *probe.date);
    const long long abs_skew = std::llabs(skew.count());
    std::string detail = "local clock " + std::string(skew.count() >= 0 ? "ahead of" : "behind") +
                         " sink " + sink + "'s peer by " + std::to_string(abs_skew) + " s";
    if (abs_skew > kFailBeyond.count())
      report.add(check, CheckResult::fail,
                 detail +
                     ": beyond the ingest's 5-minute rule; the daemon corrects its stamps from "
                     "HTTPS Date headers and holds events the ingest would prune, but fix NTP");
    else if (abs_skew > kWarnBeyond.count())
      report.add(check, CheckResult::warn,
                 detail + " (over 1 minute: /readyz reports \"clock\" not ready; fix NTP)");
    else
      report.add(check, CheckResult::pass, detail);
  }
}

}  // namespace oemlink::cli
