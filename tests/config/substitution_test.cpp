#include "core/config/substitution.hpp"

#include <gtest/gtest.h>

#include "tests/config/test_support.hpp"

namespace oemlink::config {
namespace {

using testing::ScopedEnv;
using testing::ScratchDir;

std::string expanded(std::string_view text, const std::filesystem::path& base = "/") {
  Parsed<std::string> result = expand_placeholders(text, base);
  EXPECT_TRUE(result.value) << text << ": " << result.problem;
  return result.value.value_or("");
}

std::string problem(std::string_view text, const std::filesystem::path& base = "/") {
  Parsed<std::string> result = expand_placeholders(text, base);
  EXPECT_FALSE(result.value) << text;
  return result.problem;
}

TEST(ConfigPlaceholders, TextWithoutPlaceholdersIsUnchanged) {
  EXPECT_EQ(expanded(""), "");
  EXPECT_EQ(expanded("plain $text { } $$ $"), "plain $text { } $$ $");
}

TEST(ConfigPlaceholders, EnvironmentVariables) {
  ScopedEnv a("OEMLINK_TEST_A", "alpha");
  ScopedEnv empty("OEMLINK_TEST_EMPTY", "");
  ScopedEnv unset("OEMLINK_TEST_UNSET", nullptr);
  EXPECT_EQ(expanded("${OEMLINK_TEST_A}"), "alpha");
  EXPECT_EQ(expanded("x-${OEMLINK_TEST_A}-${OEMLINK_TEST_A}-y"), "x-alpha-alpha-y");
  EXPECT_EQ(expanded("${OEMLINK_TEST_EMPTY}"), "");
  EXPECT_EQ(expanded("${OEMLINK_TEST_UNSET:-fallback}"), "fallback");
  EXPECT_EQ(expanded("${OEMLINK_TEST_EMPTY:-fallback}"), "fallback");  // like the shell's :-
  EXPECT_EQ(expanded("${OEMLINK_TEST_A:-fallback}"), "alpha");
  EXPECT_EQ(expanded("${OEMLINK_TEST_UNSET:-}"), "");
}

TEST(ConfigPlaceholders, UnsetVariableIsAnErrorNamingIt) {
  ScopedEnv unset("OEMLINK_TEST_UNSET", nullptr);
  EXPECT_EQ(problem("a ${OEMLINK_TEST_UNSET} b"),
            "environment variable OEMLINK_TEST_UNSET is not set (in \"${OEMLINK_TEST_UNSET}\"; "
            "use ${OEMLINK_TEST_UNSET:-default} for a default)");
}

TEST(ConfigPlaceholders, FileFromAnEndlessDeviceIsRefusedBySize) {
  EXPECT_EQ(problem("${file:/dev/zero}"),
            "cannot read file \"/dev/zero\" for \"${file:/dev/zero}\": larger than 4 MiB");
}

TEST(ConfigPlaceholders, Escape) {
  ScopedEnv a("OEMLINK_TEST_A", "alpha");
  EXPECT_EQ(expanded("$${OEMLINK_TEST_A}"), "${OEMLINK_TEST_A}");
  EXPECT_EQ(expanded("$${"), "${");
  EXPECT_EQ(expanded("$$${OEMLINK_TEST_A}"), "$${OEMLINK_TEST_A}");
}

TEST(ConfigPlaceholders, Files) {
  ScratchDir scratch;
  scratch.write("one-newline", "secret\n");
  scratch.write("two-newlines", "secret\n\n");
  scratch.write("crlf", "secret\r\n");
  scratch.write("none", "secret");
  std::filesystem::path absolute = scratch.write("sub/abs", "absolute\n");
  EXPECT_EQ(expanded("${file:one-newline}", scratch.path()), "secret");
  EXPECT_EQ(expanded("${file:two-newlines}", scratch.path()), "secret\n");
  EXPECT_EQ(expanded("${file:crlf}", scratch.path()), "secret");
  EXPECT_EQ(expanded("${file:none}", scratch.path()), "secret");
  EXPECT_EQ(expanded("Bearer ${file:" + absolute.string() + "}", "/elsewhere"), "Bearer absolute");
}

TEST(ConfigPlaceholders, UnreadableFileIsNamed) {
  ScratchDir scratch;
  EXPECT_EQ(problem("${file:nope.txt}", scratch.path()),
            "cannot read file \"" + (scratch.path() / "nope.txt").string() +
                "\" for \"${file:nope.txt}\": No such file or directory");
  EXPECT_EQ(problem("${file:.}", scratch.path()), "cannot read file \"" +
                                                      (scratch.path() / ".").string() +
                                                      "\" for \"${file:.}\": Is a directory");
  EXPECT_EQ(problem("${file:}"), "empty path in \"${file:}\"");
}

TEST(ConfigPlaceholders, MalformedPlaceholders) {
  EXPECT_EQ(problem("abc ${NAME"), R"(unterminated "${" (write "$${" for a literal "${"))");
  EXPECT_EQ(problem("${}"),
            R"(invalid placeholder "${}": expected ${NAME}, ${NAME:-default} or ${file:PATH})");
  EXPECT_EQ(problem("${1ABC}"),
            R"(invalid placeholder "${1ABC}": expected ${NAME}, ${NAME:-default} or ${file:PATH})");
  EXPECT_EQ(problem("${A B}"),
            R"(invalid placeholder "${A B}": expected ${NAME}, ${NAME:-default} or ${file:PATH})");
}

TEST(ConfigPlaceholders, ErrorsNeverContainExpandedValues) {
  ScopedEnv secret("OEMLINK_TEST_SECRET", "hunter2");
  ScopedEnv unset("OEMLINK_TEST_UNSET", nullptr);
  std::string message = problem("${OEMLINK_TEST_SECRET}${OEMLINK_TEST_UNSET}");
  EXPECT_EQ(message.find("hunter2"), std::string::npos) << message;
}

}  // namespace
}  // namespace oemlink::config
