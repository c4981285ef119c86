#include "core/cli/command_line.hpp"

#include "core/cli/commands.hpp"
#include "core/cli/help_format.hpp"

#include <oemlink/driver.h>

#include <algorithm>
#include <iostream>
#include <memory>

namespace oemlink::cli {
namespace {

std::string version_text() {
  return std::string("oemlink ") + OEMLINK_VERSION + " (driver ABI " +
         std::to_string(OEMLINK_ABI_MAJOR) + "." + std::to_string(OEMLINK_ABI_MINOR) + ")";
}

// The words `help` and `version`, which `oemlink help`, `oemlink keys help` and `oemlink
// version` accepted before the options did; hidden from the help.
void add_help_word(CommandLine& cli, CLI::App& group, std::string words) {
  CLI::App* help = group.add_subcommand("help")->group("");
  cli.on(help, [&group, words] {
    std::cout << group.get_formatter()->make_help(&group, words, CLI::AppFormatMode::Normal);
    return kExitOk;
  });
}

}  // namespace

CommandLine::CommandLine()
    : app_("oemlink connects cars to the DIMO network through their makers' cloud APIs.",
           "oemlink") {
  // Set before any command is added: commands copy their parent's formatter.
  app_.formatter(std::make_shared<HelpFormat>());
  app_.require_subcommand(1);
  app_.set_version_flag("--version", version_text(), "print the version and exit");
  add_run_command(*this);
  add_check_config_command(*this);
  add_doctor_command(*this);
  add_config_commands(*this);
  add_plugins_commands(*this);
  add_keys_commands(*this);
  add_data_keys_commands(*this);
  add_verify_command(*this);
  add_status_command(*this);
  add_reload_command(*this);
  add_deadletter_command(*this);
  add_secrets_commands(*this);
  add_connections_commands(*this);

  add_help_word(*this, app_, "oemlink");
  CLI::App* version = app_.add_subcommand("version")->group("");
  on(version, [] {
    std::cout << version_text() << "\n";
    return kExitOk;
  });
  app_.footer(
      "Run `oemlink <command> --help` for a command's details.\n"
      "Exit status: 0 success, 1 failure, 2 usage error.");
}

CLI::App* CommandLine::add_command(CLI::App& parent, const std::string& name,
                                   const std::string& summary, const std::string& details) {
  CLI::App* command = parent.add_subcommand(name, summary);
  command->footer(details);  // not the parent's, which CLI11 would copy
  return command;
}

CLI::App* CommandLine::add_group(const std::string& name, const std::string& summary,
                                 const std::string& details) {
  CLI::App* group = add_command(app_, name, summary, details);
  group->require_subcommand(1);
  add_help_word(*this, *group, "oemlink " + name);
  return group;
}

void CommandLine::on(CLI::App* command, Action action) {
  actions_.emplace_back(command, std::move(action));
}

std::pair<CLI::App*, std::string> CommandLine::chosen() {
  CLI::App* at = &app_;
  std::string words = app_.get_name();
  for (auto subs = at->get_subcommands(); !subs.empty(); subs = at->get_subcommands()) {
    at = subs.front();
    words += " " + at->get_name();
  }
  return {at, words};
}

int CommandLine::run(std::vector<std::string> args) {
  std::reverse(args.begin(), args.end());  // CLI11 takes the words last first
  try {
    app_.parse(args);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) {
      app_.exit(e, std::cout, std::cerr);  // --help, --version
      return kExitOk;
    }
    auto [command, words] = chosen();
    std::string why = e.what();
    // CLI11's "A subcommand is required" would hide a misspelt command.
    if (!runnable_commands(*command).empty())
      why = command->remaining().empty() ? "which command?"
                                         : "unknown command '" + command->remaining().front() + "'";
    std::cerr << words << ": " << why << "\n"
              << usage_lines(*command) << "Run `" << words << " --help` for details.\n";
    return kExitUsage;
  }
  auto [command, words] = chosen();
  for (auto& [c, action] : actions_) {
    if (c != command) continue;
    try {
      return action();
    } catch (const std::exception& e) {
      std::cerr << words << ": " << e.what() << "\n";
      return kExitFailure;
    }
  }
  std::cerr << words << ": no such command\n" << usage_lines(*command);  // a group without action
  return kExitUsage;
}

CLI::Option* add_config_option(CLI::App& command, std::string& path, const std::string& what) {
  return command.add_option("-c,--config", path, what)->type_name("FILE");
}

std::string not_empty(const std::string& value) {
  return value.empty() ? "must not be empty" : "";
}

int run_oemlink(const std::vector<std::string>& args) {
  CommandLine cli;
  return cli.run(args);
}

}  // namespace oemlink::cli
