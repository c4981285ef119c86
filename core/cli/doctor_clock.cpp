// Clock skew against the ingest's 5-minute rule (DIS refuses an event whose time is more than 5
// minutes off): our clock against the Date header of the dimo_https sink's peer, read from the
// answer doctor_sinks already got. Date has a one-second resolution, which is plenty here.
#include "core/cli/doctor.hpp"

#include <cstdlib>

namespace oemlink::cli {
using namespace std::chrono;

namespace {
constexpr seconds kWarnBeyond{60};
constexpr seconds kFailBeyond{300};
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
                 detail + ": beyond the ingest's 5-minute rule, events would be refused");
    else if (abs_skew > kWarnBeyond.count())
      report.add(check, CheckResult::warn, detail + " (over 1 minute; fix NTP)");
    else
      report.add(check, CheckResult::pass, detail);
  }
}

}  // namespace oemlink::cli
