#include "core/cli/help_format.hpp"

#include <algorithm>
#include <set>
#include <sstream>

namespace oemlink::cli {
namespace {

bool visible(const CLI::App* sub) {
  return !sub->get_name().empty() && !sub->get_group().empty();
}

// "FILE" for `--config FILE`, without CLI11's notes on validators; empty for a flag.
std::string type_of(const CLI::Option* opt) {
  std::string type = opt->get_type_name();
  return type.substr(0, type.find(':'));
}

// "--config FILE", "--force", "FILE".
std::string usage_of(const CLI::Option* opt) {
  if (opt->get_positional()) return opt->get_name(true, false);
  std::string name = opt->get_lnames().empty() ? "-" + opt->get_snames().front()
                                               : "--" + opt->get_lnames().front();
  std::string type = type_of(opt);
  return type.empty() ? name : name + " " + type;  // empty: a flag
}

std::string bracket(const CLI::Option* opt, const std::string& text) {
  return opt->get_required() ? text : "[" + text + "]";
}

}  // namespace

std::string HelpFormat::make_subcommands(const CLI::App* app, CLI::AppFormatMode mode) const {
  if (mode != CLI::AppFormatMode::Normal) return CLI::Formatter::make_subcommands(app, mode);
  if (app->get_parent() != nullptr)
    return CLI::Formatter::make_subcommands(app, CLI::AppFormatMode::All);
  std::ostringstream out;
  out << "\nCommands:\n";
  for (const CLI::App* command : runnable_commands(*app))
    out << "  " << synopsis(*command) << "\n      " << command->get_description() << "\n";
  return out.str();
}

std::string HelpFormat::make_option_opts(const CLI::Option* opt) const {
  std::string out;
  // A positional's name says what it is ("FILE"); CLI11's type ("TEXT") would not.
  if (!opt->get_positional() && !type_of(opt).empty()) out = " " + type_of(opt);
  if (!opt->get_default_str().empty()) out += " (default: " + opt->get_default_str() + ")";
  if (opt->get_required()) out += " (required)";
  return out;
}

std::vector<const CLI::App*> runnable_commands(const CLI::App& root) {
  std::vector<const CLI::App*> out;
  for (const CLI::App* command : root.get_subcommands(visible)) {
    auto subs = command->get_subcommands(visible);
    if (subs.empty())
      out.push_back(command);
    else
      for (const CLI::App* sub : runnable_commands(*command)) out.push_back(sub);
  }
  return out;
}

std::string command_words(const CLI::App& command) {
  std::string words = command.get_name();
  for (const CLI::App* p = command.get_parent(); p && p->get_parent(); p = p->get_parent())
    words = p->get_name() + " " + words;
  return words;
}

std::string synopsis(const CLI::App& command) {
  std::string out = command_words(command);
  auto options = command.get_options([&command](const CLI::Option* o) {
    return o != command.get_help_ptr() && o != command.get_help_all_ptr();
  });
  for (const CLI::Option* opt : options)
    if (opt->get_positional()) out += " " + bracket(opt, usage_of(opt));
  std::set<const CLI::Option*> shown;
  for (const CLI::Option* opt : options) {
    if (opt->get_positional() || shown.count(opt)) continue;
    const auto excluded = opt->get_excludes();
    if (excluded.empty()) {
      out += " " + bracket(opt, usage_of(opt));
      continue;
    }
    std::string text = usage_of(opt);
    for (const CLI::Option* other : options)  // in declaration order, not the set's
      if (excluded.count(const_cast<CLI::Option*>(other))) {
        text += " | " + usage_of(other);
        shown.insert(other);
      }
    out += " [" + text + "]";
  }
  return out;
}

std::string usage_lines(const CLI::App& command) {
  std::vector<const CLI::App*> commands = runnable_commands(command);
  if (commands.empty()) commands.push_back(&command);
  std::string out;
  for (const CLI::App* c : commands)
    out += (out.empty() ? "usage: oemlink " : "       oemlink ") + synopsis(*c) + "\n";
  return out;
}

}  // namespace oemlink::cli
