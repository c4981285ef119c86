// `oemlink config schema`: the configuration reference, printed from the settings tables.
#pragma once

#include <ostream>

namespace oemlink::cli {

// Prints the reference of every configuration block (markdown, as in config/README.md) and
// returns the exit code: 0, or 1 when `out` failed.
int run_config_schema(std::ostream& out);

}  // namespace oemlink::cli
