// The help and the READMEs against the command line itself: every option a command has is in its
// `--help`, core/cli/README.md lists exactly the synopses `oemlink --help` prints, and the
// top-level README's "Using it" block names only commands and options that exist.
#include "core/cli/command_line.hpp"
#include "core/cli/help_format.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>

namespace oemlink::cli {
namespace {

using ::testing::HasSubstr;

struct Output {
  int rc;
  std::string out, err;
};

Output oemlink(std::vector<std::string> args) {
  ::testing::internal::CaptureStdout();
  ::testing::internal::CaptureStderr();
  int rc = run_oemlink(args);
  std::string out = ::testing::internal::GetCapturedStdout();
  return {rc, out, ::testing::internal::GetCapturedStderr()};
}

std::vector<std::string> words_of(const CLI::App& command) {
  std::istringstream in(command_words(command));
  std::vector<std::string> words;
  for (std::string w; in >> w;) words.push_back(w);
  return words;
}

std::string slurp(const std::string& relative) {
  std::ifstream in(std::string(OEMLINK_SOURCE_DIR) + "/" + relative);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// "--config" and "-c" for `-c,--config FILE`; "FILE" for a positional.
std::vector<std::string> names_of(const CLI::Option* opt) {
  if (opt->get_positional()) return {opt->get_name(true, false)};
  std::vector<std::string> names;
  for (const auto& l : opt->get_lnames()) names.push_back("--" + l);
  for (const auto& s : opt->get_snames()) names.push_back("-" + s);
  return names;
}

std::vector<const CLI::Option*> options_of(const CLI::App& command) {
  return command.get_options(
      [&command](const CLI::Option* o) { return o != command.get_help_ptr(); });
}

TEST(CliHelp, EveryCommandsHelpShowsEachOfItsOptions) {
  CommandLine cli;
  Output top = oemlink({"--help"});
  ASSERT_EQ(top.rc, 0) << top.err;
  auto commands = runnable_commands(cli.app());
  ASSERT_GE(commands.size(), 11u);
  for (const CLI::App* command : commands) {
    EXPECT_THAT(top.out, HasSubstr(synopsis(*command)));
    std::vector<std::string> args = words_of(*command);
    args.push_back("--help");
    Output help = oemlink(args);
    EXPECT_EQ(help.rc, 0) << command_words(*command);
    EXPECT_THAT(help.out, HasSubstr("Usage: oemlink " + command_words(*command)));
    for (const CLI::Option* opt : options_of(*command))
      for (const std::string& name : names_of(opt))
        EXPECT_THAT(help.out, HasSubstr(name)) << command_words(*command);
    // A group's help (`oemlink keys --help`) shows its commands' options too.
    if (command->get_parent() != &cli.app()) {
      Output group = oemlink({words_of(*command).front(), "--help"});
      EXPECT_EQ(group.rc, 0);
      for (const CLI::Option* opt : options_of(*command))
        for (const std::string& name : names_of(opt))
          EXPECT_THAT(group.out, HasSubstr(name)) << command_words(*command);
    }
  }
}

TEST(CliHelp, SynopsesShowOptionalRequiredAndExclusiveOptions) {
  CommandLine cli;
  std::map<std::string, std::string> by_words;
  for (const CLI::App* c : runnable_commands(cli.app())) by_words[command_words(*c)] = synopsis(*c);
  EXPECT_EQ(by_words["status"], "status [--config FILE] [--json]");
  EXPECT_EQ(by_words["check-config"], "check-config FILE");
  EXPECT_EQ(by_words["keys list"],
            "keys list --config FILE [--vault FILE] "
            "[--kek-env NAME | --kek-file PATH | --kek-command CMD]");
  EXPECT_EQ(by_words.count("help"), 0u);  // hidden words are not commands to document
}

// The code spans that start the rows of core/cli/README.md's command table, `\|` unescaped.
std::set<std::string> readme_synopses() {
  std::set<std::string> out;
  std::istringstream in(slurp("core/cli/README.md"));
  for (std::string line; std::getline(in, line);) {
    if (!line.starts_with("| `")) continue;
    size_t end = line.find('`', 3);
    std::string cell = line.substr(3, end - 3);
    for (size_t p; (p = cell.find("\\|")) != std::string::npos;) cell.replace(p, 2, "|");
    out.insert(cell);
  }
  return out;
}

TEST(CliHelp, TheCliReadmeTableIsExactlyTheCommandsSynopses) {
  CommandLine cli;
  std::set<std::string> app;
  for (const CLI::App* c : runnable_commands(cli.app())) app.insert(synopsis(*c));
  // On failure, copy the app's side into core/cli/README.md (`|` escaped as `\|`).
  EXPECT_EQ(readme_synopses(), app);
}

// Every option `name` of `command` or of the commands under it.
bool has_option(const CLI::App& command, const std::string& name) {
  for (const CLI::Option* opt : command.get_options())
    for (const std::string& n : names_of(opt))
      if (n == name) return true;
  for (const CLI::App* sub : command.get_subcommands([](const CLI::App*) { return true; }))
    if (has_option(*sub, name)) return true;
  return false;
}

TEST(CliHelp, TheReadmeUsingItBlockNamesRealCommandsAndOptions) {
  std::string readme = slurp("README.md");
  size_t start = readme.find("## Using it");
  ASSERT_NE(start, std::string::npos);
  start = readme.find("```sh\n", start);
  size_t end = readme.find("```\n", start + 6);
  ASSERT_NE(end, std::string::npos);
  std::istringstream block(readme.substr(start + 6, end - start - 6));
  CommandLine cli;
  std::set<std::string> seen;
  for (std::string line; std::getline(block, line);) {
    size_t at = line.find("oemlink ");
    if (at == std::string::npos) continue;
    line = line.substr(at + 8, line.find(" #") == std::string::npos ? std::string::npos
                                                                    : line.find(" #") - at - 8);
    std::istringstream tokens(line);
    std::string first;
    tokens >> first;
    const CLI::App* command = &cli.app();
    if (!first.starts_with("-")) {
      auto subs = cli.app().get_subcommands([&first](const CLI::App* s) {
        return s->get_name() == first && !s->get_group().empty();
      });
      ASSERT_EQ(subs.size(), 1u) << "README.md names an unknown command: " << first;
      command = subs.front();
      seen.insert(first);
    } else {
      EXPECT_TRUE(has_option(*command, first)) << "README.md: oemlink " << line;
    }
    for (std::string t; tokens >> t;) {
      if (t.starts_with("--")) {
        EXPECT_TRUE(has_option(*command, t)) << "README.md: oemlink " << line;
      }
    }
  }
  for (const CLI::App* c : cli.app().get_subcommands(
           [](const CLI::App* s) { return !s->get_group().empty() && !s->get_name().empty(); }))
    EXPECT_EQ(seen.count(c->get_name()), 1u)
        << "README.md's Using it block lacks " << c->get_name();
}

}  // namespace
}  // namespace oemlink::cli
