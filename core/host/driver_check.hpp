// Every check on the configured drivers that needs their libraries but opens nothing else:
// each library is loaded (never created), its capabilities are matched against the entry's
// `mode`, and its `settings:` block is checked against the driver's own settings table.
// `check-config`, `plugins list` and `run` (DriverSet, before anything is opened) all call
// check_drivers(), so they refuse the same configurations with the same messages.
#pragma once

#include "core/config/config.hpp"

#include <oemlink/driver.h>

#include <filesystem>
#include <string>
#include <vector>

namespace oemlink::host {

struct DriverCheck {
  const config::DriverConfig* cfg = nullptr;
  std::filesystem::path path;
  const oemlink_driver* descriptor = nullptr;  // null when loading failed
  std::string settings_json;                   // the validated settings, when they passed
  std::string error;                           // this driver's problems, empty when fine
  bool skipped = false;                        // the library did not load and on_load_error is skip
  // Set by the runtime from the driver-fault log (driver_quarantine.hpp): not created.
  bool quarantined = false;
  std::string quarantine_reason;
};

struct DriverCheckReport {
  std::vector<DriverCheck> drivers;  // one per configured driver, in configuration order
  // What makes `run` refuse to start, each "FILE:LINE:COL: drivers[N]...: message".
  std::vector<std::string> errors;
  // Drivers that `run` starts without (on_load_error: skip), same format.
  std::vector<std::string> warnings;
};

// A library that cannot be loaded is an error, or a warning under on_load_error: skip (like a
// failing create() in the runtime). A mode the driver cannot do and invalid settings are errors
// either way: they are mistakes in the file, not in the deployment. `plugin_dirs` empty:
// loader::default_plugin_dirs().
[[nodiscard]] DriverCheckReport check_drivers(const config::Config& cfg,
                                              std::vector<std::filesystem::path> plugin_dirs = {});

}  // namespace oemlink::host
