// Configures spdlog from the config's logging section: level, text or JSON lines, stderr or file.
#pragma once

#include "core/config/config.hpp"

namespace oemlink::cli {

// Throws std::runtime_error naming the log file when it cannot be opened.
void setup_logging(const config::LoggingConfig& cfg);

}  // namespace oemlink::cli
