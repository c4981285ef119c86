// The `oemlink` subcommands. Each takes its own arguments (without the subcommand word) and
// returns the process exit code: 0 success, 1 failure, 2 usage error.
#pragma once

#include <string>
#include <vector>

namespace oemlink::cli {

using Args = std::vector<std::string>;

int cmd_run(const Args& args);
int cmd_check_config(const Args& args);
int cmd_plugins(const Args& args);
int cmd_verify(const Args& args);
int cmd_keys(const Args& args);
int cmd_status(const Args& args);
int cmd_deadletter(const Args& args);

}  // namespace oemlink::cli
