// What the subcommands share to find their configuration and check its drivers. The driver
// checks themselves live in the host (core/host/driver_check.hpp), so `run` and `check-config`
// are one function.
#pragma once

#include "core/config/config.hpp"
#include "core/host/driver_check.hpp"

#include <string>

namespace oemlink::cli {

using host::check_drivers;
using host::DriverCheck;
using host::DriverCheckReport;

// The config file: `path` when given, else the embedded default. Throws config::ConfigError.
config::Config load_config_or_default(const std::string& path);

}  // namespace oemlink::cli
