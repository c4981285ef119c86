// Config validity, as `check-config` sees it (the drivers' part is doctor_drivers.cpp). The
// other checks read ctx.cfg and skip, saying why, when it is absent.
#include "core/cli/doctor.hpp"
#include "core/cli/driver_check.hpp"
#include "core/common/data_dir.hpp"
#include "core/host/data_dir_lock.hpp"

namespace oemlink::cli {

void doctor_config(DoctorContext& ctx, DoctorReport& report) {
  const std::string name = ctx.config_path.empty() ? "<embedded>" : ctx.config_path;
  try {
    ctx.cfg = load_config_or_default(ctx.config_path);
  } catch (const std::exception& e) {
    report.add("config", CheckResult::fail, e.what());
    return;
  }
  const config::Config& cfg = *ctx.cfg;
  std::string detail = name + ": valid (" + counted(cfg.drivers.size(), "driver") + ", " +
                       counted(cfg.connections.size(), "connection") + ", " +
                       counted(cfg.sinks.size(), "sink") + ")";
  for (const std::string& w : cfg.warnings) detail += "\nwarning: " + w;
  report.add("config", cfg.warnings.empty() ? CheckResult::pass : CheckResult::warn, detail);
  // A read-only probe: doctor never takes the lock, so it runs beside the daemon.
  ctx.daemon_pid = host::DataDirLock::holder(DataDir(cfg.data_dir));
}

}  // namespace oemlink::cli
