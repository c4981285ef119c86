// Each driver's library loads and its settings and mode check out: host::check_drivers(), the
// function `check-config` and `run` call, one row per configured driver.
#include "core/cli/doctor.hpp"
#include "core/cli/driver_check.hpp"
#include "core/loader/driver_library.hpp"

namespace oemlink::cli {

void doctor_drivers(DoctorContext& ctx, DoctorReport& report) {
  if (!ctx.cfg) {
    report.add("drivers", CheckResult::skip, kNoConfig);
    return;
  }
  if (ctx.cfg->drivers.empty()) {
    report.add("drivers", CheckResult::warn, "no driver configured");
    return;
  }
  for (const DriverCheck& c :
       host::check_drivers(*ctx.cfg, loader::default_plugin_dirs()).drivers) {
    const std::string check = "driver " + c.cfg->name;
    if (!c.descriptor) {
      // on_load_error: skip starts without it: a warning, as check-config says.
      report.add(check, c.skipped ? CheckResult::warn : CheckResult::fail,
                 c.error + (c.skipped ? " (on_load_error: skip)" : ""));
      continue;
    }
    const oemlink_driver* d = c.descriptor;
    std::string detail = c.path.string() + " loads: " + d->name + " " + d->version + ", ABI " +
                         std::to_string(d->abi_major) + "." + std::to_string(d->abi_minor);
    if (!c.error.empty())
      report.add(check, CheckResult::fail, detail + "; " + c.error);
    else
      report.add(check, CheckResult::pass, detail);
  }
}

}  // namespace oemlink::cli
