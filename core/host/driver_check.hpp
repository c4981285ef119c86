// The checks a configured driver must pass before anything opens: its library resolves and
// loads, its ABI matches, its mode fits its capabilities, and its settings pass its own table.
// `oemlink check-config`, `oemlink plugins` and `oemlink run` all call this one function, so a
// config that check-config accepts never fails at run for a reason check-config could see.
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
  std::string error;                           // empty when fine
  bool load_failed = false;  // the library itself did not load (on_load_error applies)
  bool skippable = false;    // on_load_error: skip
};

// Loads (never unloads, never creates) each configured driver's library and checks it.
// `plugin_dirs` empty: loader::default_plugin_dirs().
[[nodiscard]] std::vector<DriverCheck> check_drivers(
    const config::Config& cfg, std::vector<std::filesystem::path> plugin_dirs = {});

// The errors that stop a start: every failed check, except a library that did not load for a
// driver with on_load_error: skip. Each line names the driver and the file.
[[nodiscard]] std::vector<std::string> fatal_driver_errors(const std::vector<DriverCheck>& checks);

}  // namespace oemlink::host
