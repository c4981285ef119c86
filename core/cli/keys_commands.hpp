// `oemlink keys ...`: create, import and inspect the sealed master seed. Output names addresses
// only, never the seed or a key. Returns the exit code: 0 success, 1 failure, 2 usage error.
#pragma once

#include <string>
#include <vector>

namespace oemlink::cli {

int cmd_keys(const std::vector<std::string>& args);

}  // namespace oemlink::cli
