// Every check on the configured drivers that needs their libraries but opens nothing else:
// each library is loaded (never created), its capabilities are matched against the entry's
// `mode`, and its `settings:` block is checked against the driver's own settings table.
// `check-config` and `run` both call check_drivers() before anything is opened, so they refuse
// the same configurations with the same messages.
#pragma once

#include "core/config/config.hpp"

#include <oemlink/driver.h>

#include <filesystem>
#include <string>
#include <vector>

namespace oemlink::cli {

struct DriverCheck {
  const config::DriverConfig* cfg = nullptr;
  std::filesystem::path path;
  const oemlink_driver* descriptor = nullptr;  // null when loading failed
  std::string error;                           // this driver's problems, empty when fine
  bool skipped = false;                        // the library did not load and on_load_error is skip
};

struct DriverCheckReport {
  std::vector<DriverCheck> drivers;  // one per configured driver, in configuration order
  // What makes `run` refuse to start, each "FILE:LINE:COL: drivers[N]...: message".
  std::vector<std::string> errors;
  // Drivers that `run` starts without (on_load_error: skip), same format.
  std::vector<std::string> warnings;
};

// A library that cannot be loaded is an error, or a warning under on_load_error: skip (like
// a failing create() in the runtime). A mode the driver cannot do and invalid settings are
// errors either way: they are mistakes in the file, not in the deployment.
DriverCheckReport check_drivers(const config::Config& cfg,
                                const std::vector<std::filesystem::path>& plugin_dirs);

// The config file: `path` when given, else the embedded default. Throws config::ConfigError.
config::Config load_config_or_default(const std::string& path);

}  // namespace oemlink::cli
