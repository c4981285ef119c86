// How `oemlink` help looks, and each command's one-line synopsis (`keys address N [--vault
// FILE] ...`), which the top-level help lists and tests compare with core/cli/README.md.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace oemlink::cli {

// The top level lists every command with its synopsis; a command that groups others (keys,
// plugins) lists them with all their options; option lines leave out CLI11's "Excludes:" notes,
// which the synopsis shows as alternatives.
class HelpFormat final : public CLI::Formatter {
 public:
  std::string make_subcommands(const CLI::App* app, CLI::AppFormatMode mode) const override;
  std::string make_option_opts(const CLI::Option* opt) const override;
};

// The commands a user can run, in help order: `run`, ..., `keys init`, `keys import`, ... Commands
// that only group others, and hidden words like `help`, are not listed.
std::vector<const CLI::App*> runnable_commands(const CLI::App& root);

// "keys init" for the app of `oemlink keys init`.
std::string command_words(const CLI::App& command);

// "keys init [--vault FILE] [--force] [--kek-env NAME | --kek-file PATH | --kek-command CMD]":
// the words, the positionals, then every option by its long name; optional ones in brackets,
// options that exclude each other as alternatives.
std::string synopsis(const CLI::App& command);

// "usage: oemlink <synopsis>" for `command`, or one line per command it groups: what a usage
// error prints under its message.
std::string usage_lines(const CLI::App& command);

}  // namespace oemlink::cli
