// The `oemlink` command line: one CLI11 app with a subcommand per command. Help, usage errors and
// exit codes are decided here and nowhere else; a command only declares its options and says
// what to do once they parsed.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace oemlink::cli {

// Operators' scripts depend on these.
enum ExitCode : int {
  kExitOk = 0,       // success; also --help and --version
  kExitFailure = 1,  // invalid config, load error, bad event, daemon not running...
  kExitUsage = 2,    // unknown command or option, missing or malformed argument
};

// A command's work once its arguments parsed: returns kExitOk or kExitFailure. An exception it
// lets escape is printed as "oemlink <command>: <what>" and exits kExitFailure.
using Action = std::function<int()>;

class CommandLine {
 public:
  // Builds the app with every command (the list is in command_line.cpp).
  CommandLine();
  CommandLine(const CommandLine&) = delete;
  CommandLine& operator=(const CommandLine&) = delete;

  CLI::App& app() { return app_; }

  // A new command under `parent` (the app, or a command that groups others, like `keys`).
  // `summary` is its line in the parent's help; `details` ends its own help.
  CLI::App* add_command(CLI::App& parent, const std::string& name, const std::string& summary,
                        const std::string& details = "");
  // A top-level command that only groups others (`keys init`, `plugins list`): one of them must
  // be given, and the word `help` shows them all.
  CLI::App* add_group(const std::string& name, const std::string& summary,
                      const std::string& details = "");
  // `command` runs `action` when it is the one the arguments chose.
  void on(CLI::App* command, Action action);

  // `args` without the program name. Returns the process exit code.
  int run(std::vector<std::string> args);

 private:
  // The chosen command and its words ("oemlink keys init"), after a parse.
  std::pair<CLI::App*, std::string> chosen();

  CLI::App app_;
  std::vector<std::pair<CLI::App*, Action>> actions_;
};

// `-c, --config FILE`, as every command that reads the configuration spells it.
CLI::Option* add_config_option(
    CLI::App& command, std::string& path,
    const std::string& what = "the configuration (default: the built-in one)");

// A check for options and arguments whose empty value would silently mean "the default".
std::string not_empty(const std::string& value);

// `oemlink args...` in-process: what main() and in-process tests call.
int run_oemlink(const std::vector<std::string>& args);

}  // namespace oemlink::cli
