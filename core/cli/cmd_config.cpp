#include "core/cli/cmd_config.hpp"

#include "core/cli/command_line.hpp"
#include "core/cli/commands.hpp"
#include "core/config/schema_reference.hpp"

#include <iostream>

namespace oemlink::cli {

int run_config_schema(std::ostream& out) {
  config::write_schema_reference(out);
  out.flush();
  return out ? kExitOk : kExitFailure;
}

void add_config_commands(CommandLine& cli) {
  CLI::App* group = cli.add_group("config", "the configuration reference",
                                  "What every configuration key means, from the settings tables "
                                  "the loader checks against.");
  CLI::App* schema = cli.add_command(
      *group, "schema", "print every configuration key: type, default, flags, description",
      "Prints the reference of every configuration block as markdown (config/README.md holds "
      "the same text).");
  cli.on(schema, [] { return run_config_schema(std::cout); });
}

}  // namespace oemlink::cli
