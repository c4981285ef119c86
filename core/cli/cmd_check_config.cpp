#include "core/cli/commands.hpp"
#include "core/cli/driver_check.hpp"

#include <cstdio>

namespace oemlink::cli {

static constexpr const char* kCheckHelp = R"(usage: oemlink check-config FILE

Validates FILE without running anything: YAML syntax, every key and value, and each driver's
settings against the driver library's own settings table (the libraries are loaded, not started).
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
  int rc = 0;
  for (const DriverCheck& c : check_drivers(cfg)) {
    if (c.error.empty()) continue;
    const auto& p = c.cfg->position;
    std::fprintf(stderr, "%s:%d:%d: %s: %s%s\n", p.file.c_str(), p.line, p.column,
                 c.cfg->key_path.empty() ? c.cfg->name.c_str() : c.cfg->key_path.c_str(),
                 c.skippable ? "warning (on_load_error: skip): " : "", c.error.c_str());
    if (!c.skippable) rc = 1;
  }
  if (rc == 0)
    std::printf("%s: OK (%zu drivers, %zu connections, %zu sinks)\n", args[0].c_str(),
                cfg.drivers.size(), cfg.connections.size(), cfg.sinks.size());
  return rc;
}

}  // namespace oemlink::cli
