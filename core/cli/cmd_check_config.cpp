#include "core/cli/commands.hpp"
#include "core/cli/driver_check.hpp"
#include "core/loader/driver_library.hpp"

#include <cstdio>

namespace oemlink::cli {

static constexpr const char* kCheckHelp = R"(usage: oemlink check-config FILE

Validates FILE without running anything: YAML syntax, every key and value, and each driver's
settings and mode against the driver library's own settings table and capabilities (the
libraries are loaded, not started). It refuses what `oemlink run` would refuse before opening
anything; warnings (deprecated keys, drivers skipped by on_load_error: skip) do not.
Exit status: 0 valid, 1 invalid, 2 usage error.
)";

int cmd_check_config(const Args& args) {
  if (args.size() == 1 && (args[0] == "--help" || args[0] == "-h")) {
    std::fputs(kCheckHelp, stdout);
    return 0;
  }
  if (args.size() != 1 || args[0].empty() || args[0][0] == '-') {
    std::fputs(kCheckHelp, stderr);
    return 2;
  }
  config::Config cfg;
  try {
    cfg = load_config_or_default(args[0]);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  for (const std::string& warning : cfg.warnings)
    std::fprintf(stderr, "warning: %s\n", warning.c_str());
  DriverCheckReport drivers = check_drivers(cfg, loader::default_plugin_dirs());
  for (const std::string& warning : drivers.warnings)
    std::fprintf(stderr, "warning: %s\n", warning.c_str());
  for (const std::string& error : drivers.errors) std::fprintf(stderr, "%s\n", error.c_str());
  const int rc = drivers.errors.empty() ? 0 : 1;
  if (rc == 0)
    std::printf("%s: OK (%zu drivers, %zu connections, %zu sinks)\n", args[0].c_str(),
                cfg.drivers.size(), cfg.connections.size(), cfg.sinks.size());
  return rc;
}

}  // namespace oemlink::cli
