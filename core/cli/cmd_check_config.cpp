#include "core/cli/commands.hpp"
#include "core/cli/driver_check.hpp"
#include "core/loader/driver_library.hpp"

#include <cstdio>
#include <memory>

namespace oemlink::cli {
namespace {

constexpr const char* kCheckDetails =
    R"(Validates FILE without running anything: YAML syntax, every key and value, and each driver's
settings and mode against the driver library's own settings table and capabilities (the
libraries are loaded, not started). It refuses what `oemlink run` would refuse before opening
anything; warnings (deprecated keys, drivers skipped by on_load_error: skip) do not.
Exit status: 0 valid, 1 invalid, 2 usage error.)";

}  // namespace

int check_config(const std::string& file) {
  config::Config cfg;
  try {
    cfg = load_config_or_default(file);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return kExitFailure;
  }
  for (const std::string& warning : cfg.warnings)
    std::fprintf(stderr, "warning: %s\n", warning.c_str());
  DriverCheckReport drivers = check_drivers(cfg, loader::default_plugin_dirs());
  for (const std::string& warning : drivers.warnings)
    std::fprintf(stderr, "warning: %s\n", warning.c_str());
  for (const std::string& error : drivers.errors) std::fprintf(stderr, "%s\n", error.c_str());
  const int rc = drivers.errors.empty() ? kExitOk : kExitFailure;
  if (rc == 0)
    std::printf("%s: OK (%zu drivers, %zu connections, %zu sinks)\n", file.c_str(),
                cfg.drivers.size(), cfg.connections.size(), cfg.sinks.size());
  return rc;
}

void add_check_config_command(CommandLine& cli) {
  auto file = std::make_shared<std::string>();
  CLI::App* cmd = cli.add_command(cli.app(), "check-config",
                                  "validate a configuration without running it", kCheckDetails);
  cmd->add_option("FILE", *file, "the configuration to check")->required()->check(not_empty);
  cli.on(cmd, [file] { return check_config(*file); });
}

}  // namespace oemlink::cli
