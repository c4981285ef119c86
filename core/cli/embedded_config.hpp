// The default configuration compiled into the binary (config/oemlink.yaml at build time), so
// `oemlink run` works with no file at all.
#pragma once

#include <string_view>

namespace oemlink::cli {
std::string_view embedded_default_config();
}
