// Loads each configured driver library and validates its settings block against the driver's
// own settings table, without creating an instance: what check-config and plugins list share.
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
  std::string error;                           // load or settings error, empty when fine
  bool skippable = false;                      // on_load_error: skip
};

std::vector<DriverCheck> check_drivers(const config::Config& cfg);

// The config file: `path` when given, else the embedded default. Throws config::ConfigError.
config::Config load_config_or_default(const std::string& path);

}  // namespace oemlink::cli
