// oemlink: connects cars to the DIMO network through their makers' cloud APIs.
#include "core/cli/commands.hpp"

#include <oemlink/driver.h>

#include <cstdio>
#include <string>

namespace {

constexpr const char* kUsage = R"(usage: oemlink <command> [options]

commands:
  run [--config FILE]          run the daemon (default: the built-in configuration)
  check-config FILE            validate a configuration without running it
  plugins list --config FILE   list the configured drivers without starting anything
  plugins info PATH|NAME       show a driver library's name, version, ABI and settings
  keys init|import|address|list  create or import the master seed; print addresses (never keys)
  verify FILE [--keys]         check the signature of every event in a JSON Lines file
  status [--config FILE]       counters, outbox depth and sinks of the running daemon
  deadletter list|retry|purge  events a sink's peer rejected for good

options:
  --help       help for oemlink or a command (oemlink run --help)
  --version    print the version
)";

}  // namespace

int main(int argc, char** argv) {
  oemlink::cli::Args args(argv + 1, argv + argc);
  if (args.empty()) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  std::string cmd = args.front();
  args.erase(args.begin());
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (cmd == "--version" || cmd == "version") {
    std::printf("oemlink %s (driver ABI %d.%d)\n", OEMLINK_VERSION, OEMLINK_ABI_MAJOR,
                OEMLINK_ABI_MINOR);
    return 0;
  }
  if (cmd == "run") return oemlink::cli::cmd_run(args);
  if (cmd == "check-config") return oemlink::cli::cmd_check_config(args);
  if (cmd == "plugins") return oemlink::cli::cmd_plugins(args);
  if (cmd == "verify") return oemlink::cli::cmd_verify(args);
  if (cmd == "keys") return oemlink::cli::cmd_keys(args);
  if (cmd == "status") return oemlink::cli::cmd_status(args);
  if (cmd == "deadletter") return oemlink::cli::cmd_deadletter(args);
  std::fprintf(stderr, "oemlink: unknown command '%s'\n\n%s", cmd.c_str(), kUsage);
  return 2;
}
