// The `oemlink` commands: each file adds its own command(s) to the command line, with their
// options, help and action. command_line.cpp calls these in the order `oemlink --help` lists them.
#pragma once

#include "core/cli/command_line.hpp"

#include <string>
#include <vector>

namespace oemlink::cli {

void add_run_command(CommandLine& cli);           // cmd_run.cpp
void add_check_config_command(CommandLine& cli);  // cmd_check_config.cpp
void add_doctor_command(CommandLine& cli);        // cmd_doctor.cpp
void add_config_commands(CommandLine& cli);       // cmd_config.cpp: config schema
void add_plugins_commands(CommandLine& cli);      // cmd_plugins.cpp: plugins list|info
void add_keys_commands(CommandLine& cli);         // cmd_keys.cpp: keys init|import|address|list
void add_data_keys_commands(CommandLine& cli);    // cmd_data_keys.cpp: data-keys reseal
void add_verify_command(CommandLine& cli);        // cmd_verify.cpp
void add_status_command(CommandLine& cli);        // cmd_status.cpp
void add_reload_command(CommandLine& cli);        // cmd_reload.cpp
void add_deadletter_command(CommandLine& cli);    // cmd_deadletter.cpp
void add_secrets_commands(CommandLine& cli);      // cmd_secrets.cpp: secrets set|list
// cmd_connections.cpp: connections list|show|add|pause|resume|set-tokens|revoke|poll
void add_connections_commands(CommandLine& cli);

// What `oemlink check-config FILE` prints (errors on stderr) and returns: `reload` validates with
// it too (cmd_check_config.cpp).
int check_config(const std::string& file);

// `oemlink keys args...` in-process, for tests/vault/keys_cli_test.cpp.
inline int cmd_keys(const std::vector<std::string>& args) {
  std::vector<std::string> words{"keys"};
  words.insert(words.end(), args.begin(), args.end());
  return run_oemlink(words);
}

}  // namespace oemlink::cli
