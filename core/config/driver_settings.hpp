// A driver's `settings:` block checked against the settings table the driver declares through
// the C ABI, and turned into the JSON object its create() receives.
#pragma once

#include <oemlink/driver.h>

#include <span>
#include <string>

#include "core/config/config.hpp"

namespace oemlink::config {

// Rejects unknown keys, missing OEMLINK_SETTING_REQUIRED keys and values of the wrong type;
// fills in each absent setting's default_value; converts DURATION_MS to integer milliseconds
// and OBJECT values to JSON. Returns compact JSON text with the settings in table order.
// Throws ConfigError listing every problem, positioned in the driver's settings block; the
// value of an OEMLINK_SETTING_SECRET setting never appears in a message. `driver_name` is the
// name the library declares, for messages.
std::string driver_settings_to_json(const DriverConfig& driver,
                                    std::span<const oemlink_setting> table,
                                    const std::string& driver_name);

}  // namespace oemlink::config
