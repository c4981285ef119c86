// config/README.md holds the reference printed from the settings tables between two markers;
// this test fails when they disagree, and says how to regenerate the README.
#include "core/config/schema_reference.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace oemlink::config {
namespace {

constexpr std::string_view kBegin =
    "<!-- BEGIN config schema: generated from core/config/*_table.cpp, do not edit -->\n";
constexpr std::string_view kEnd = "<!-- END config schema -->";

std::filesystem::path readme_path() {
  return std::filesystem::path(OEMLINK_SOURCE_DIR) / "config/README.md";
}

std::string generated_reference() {
  std::ostringstream out;
  write_schema_reference(out);
  return out.str();
}

TEST(ConfigSchemaReference, ReadmeAgreesWithTheTables) {
  std::ifstream in(readme_path(), std::ios::binary);
  ASSERT_TRUE(in) << readme_path();
  std::string readme((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t begin = readme.find(kBegin);
  const size_t end = readme.find(kEnd);
  ASSERT_NE(begin, std::string::npos) << "no begin marker in " << readme_path();
  ASSERT_NE(end, std::string::npos) << "no end marker in " << readme_path();
  ASSERT_LT(begin, end);
  const size_t content = begin + kBegin.size();
  const std::string expected = generated_reference();
  if (readme.compare(content, end - content, expected) == 0) return;

  if (std::getenv("OEMLINK_UPDATE_CONFIG_README")) {
    readme.replace(content, end - content, expected);
    std::ofstream(readme_path(), std::ios::binary | std::ios::trunc) << readme;
    GTEST_SKIP() << "rewrote " << readme_path();
  }
  FAIL() << readme_path() << " disagrees with the settings tables. Regenerate it with\n"
         << "  OEMLINK_UPDATE_CONFIG_README=1 " << OEMLINK_BINARY_DIR
         << "/tests/config/config_tests --gtest_filter=ConfigSchemaReference.*\n"
         << "or paste the output of `oemlink config schema` between the markers.";
}

TEST(ConfigSchemaReference, NamesEveryBlockAndKey) {
  const std::string reference = generated_reference();
  for (std::string_view needle :
       {"### Top level", "### `logging`", "### `http`", "### `schedule`", "### `dimo`",
        "### `vault`", "### `vault.kek`", "### `outbox`", "### `drivers[]`",
        "### `drivers[].rate_limit`", "### `connections[]`", "### `sinks[]`",
        "### `sinks[] (type: file)`", "### `sinks[] (type: dimo_https)`",
        "### `sinks[] (type: mqtt)`", "| `key_child` | **required**, integer < 2^31 |",
        "| `level` | `trace`\\|`debug`\\|`info`\\|`warn`\\|`error` | `info` |",
        "| `flush_interval` | **deprecated**, duration |", "| `password` | string, secret |"}) {
    EXPECT_NE(reference.find(needle), std::string::npos) << needle << "\n" << reference;
  }
}

}  // namespace
}  // namespace oemlink::config
