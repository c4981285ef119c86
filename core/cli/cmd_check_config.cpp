#include "core/cli/commands.hpp"
#include "core/cli/driver_check.hpp"

#include <cstdio>
#include <memory>

namespace oemlink::cli {
namespace {

constexpr const char* kCheckDetails =
    R"(Validates FILE without running anything: YAML syntax, every key and value, and each driver's
settings against the driver library's own settings table (the libraries are loaded, not started).
Exit status: 0 valid, 1 invalid, 2 usage error.)";

int check_config(const std::string& file) {
  config::Config cfg;
  try {
    cfg = load_config_or_default(file);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return kExitFailure;
  }
  int rc = kExitOk;
  for (const DriverCheck& c : check_drivers(cfg)) {
    if (c.error.empty()) continue;
    const auto& p = c.cfg->position;
    std::fprintf(stderr, "%s:%d:%d: %s: %s%s\n", p.file.c_str(), p.line, p.column,
                 c.cfg->key_path.empty() ? c.cfg->name.c_str() : c.cfg->key_path.c_str(),
                 c.skippable ? "warning (on_load_error: skip): " : "", c.error.c_str());
    if (!c.skippable) rc = kExitFailure;
  }
  if (rc == kExitOk)
    std::printf("%s: OK (%zu drivers, %zu connections, %zu sinks)\n", file.c_str(),
                cfg.drivers.size(), cfg.connections.size(), cfg.sinks.size());
  return rc;
}

}  // namespace

void add_check_config_command(CommandLine& cli) {
  auto file = std::make_shared<std::string>();
  CLI::App* cmd = cli.add_command(cli.app(), "check-config",
                                  "validate a configuration without running it", kCheckDetails);
  cmd->add_option("FILE", *file, "the configuration to check")->required()->check(not_empty);
  cli.on(cmd, [file] { return check_config(*file); });
}

}  // namespace oemlink::cli
