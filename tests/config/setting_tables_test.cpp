// The settings tables themselves: their defaults are the structs' defaults, and the rows'
// flags, bounds and cross-block rules behave as the reference says.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/config/table_reader.hpp"
#include "core/config/tables.hpp"
#include "core/config/yaml_document.hpp"
#include "tests/config/test_support.hpp"

namespace oemlink::config {
namespace {

using ::testing::HasSubstr;
using testing::load_error;
using testing::yaml;

// Reads every row's default_value through the table, as an operator's value would be read, into
// a default-constructed struct: the result must be the struct's own default. Fails when a table
// and config.hpp disagree, or a default would not pass its own checks.
template <class T>
void expect_table_defaults_are_struct_defaults(const SettingBlock<T>& block) {
  SCOPED_TRACE(std::string(block.path));
  std::string text;
  for (const Setting<T>& row : block.rows) {
    if (row.spec.default_value.empty()) continue;
    text += std::string(row.spec.key) + ": \"" + std::string(row.spec.default_value) + "\"\n";
  }
  ConfigNode node = parse_yaml(text);
  Diagnostics diagnostics("defaults");
  YamlReader reader(diagnostics, "/");
  T value{};
  read_block(reader, Field{std::string(block.path), &node, node.mark}, block, value,
             PathBases{"/", "/"});
  for (const Diagnostic& problem : diagnostics.all()) {
    // Required keys have no default, so a block of defaults lacks them.
    if (problem.message.starts_with("missing required key")) continue;
    ADD_FAILURE() << format_diagnostic(problem);
  }
  EXPECT_TRUE(value == T{}) << "a default_value differs from config.hpp:\n" << text;
}

TEST(ConfigTables, DefaultsAreTheStructDefaults) {
  expect_table_defaults_are_struct_defaults(kLoggingBlock);
  expect_table_defaults_are_struct_defaults(kHttpBlock);
  expect_table_defaults_are_struct_defaults(kScheduleBlock);
  expect_table_defaults_are_struct_defaults(kDimoBlock);
  expect_table_defaults_are_struct_defaults(kVaultBlock);
  expect_table_defaults_are_struct_defaults(kKekBlock);
  expect_table_defaults_are_struct_defaults(kOutboxBlock);
  expect_table_defaults_are_struct_defaults(kDriverBlock);
  expect_table_defaults_are_struct_defaults(kRateLimitBlock);
  expect_table_defaults_are_struct_defaults(kConnectionBlock);
  expect_table_defaults_are_struct_defaults(kSinkBlock);
  expect_table_defaults_are_struct_defaults(kFileSinkBlock);
  expect_table_defaults_are_struct_defaults(kHttpsSinkBlock);
  expect_table_defaults_are_struct_defaults(kMqttSinkBlock);
  expect_table_defaults_are_struct_defaults(kListenerBlock);
  expect_table_defaults_are_struct_defaults(kListenerTlsBlock);
  expect_table_defaults_are_struct_defaults(kAdminListenerBlock);
  expect_table_defaults_are_struct_defaults(kAdminTlsBlock);
}

TEST(ConfigTables, EveryRowIsDescribed) {
  auto check = [](const auto& block) {
    for (const auto& row : block.rows) {
      EXPECT_FALSE(row.spec.description.empty()) << block.path << "." << row.spec.key;
      if (row.spec.type == SettingType::choice) {
        EXPECT_FALSE(row.spec.choices.empty()) << block.path << "." << row.spec.key;
      }
    }
    EXPECT_FALSE(block.intro.empty()) << block.path;
  };
  check(kTopLevelBlock);
  check(kLoggingBlock);
  check(kHttpBlock);
  check(kScheduleBlock);
  check(kDimoBlock);
  check(kVaultBlock);
  check(kKekBlock);
  check(kOutboxBlock);
  check(kDriverBlock);
  check(kRateLimitBlock);
  check(kConnectionBlock);
  check(kSinkBlock);
  check(kFileSinkBlock);
  check(kHttpsSinkBlock);
  check(kMqttSinkBlock);
  check(kListenersBlock);
  check(kListenerBlock);
  check(kListenerTlsBlock);
  check(kAdminListenerBlock);
  check(kAdminTlsBlock);
}

TEST(ConfigTables, DeprecatedKeyWarnsAndChangesNothing) {
  Config config = load_config_text(yaml(R"(
sinks:
  - {name: events, type: file, path: e.jsonl, flush_interval: 5s}
)"),
                                   "test.yaml", "/etc/oemlink");
  EXPECT_EQ(config.sinks.at(0).file.flush_interval, FileSinkConfig{}.flush_interval);
  ASSERT_EQ(config.warnings.size(), 1u);
  EXPECT_THAT(config.warnings[0],
              HasSubstr("test.yaml:2:63: sinks[0].flush_interval: deprecated and ignored: has no "
                        "effect"));
}

TEST(ConfigTables, DeprecatedKeyIsStillTypeChecked) {
  EXPECT_THAT(load_error(yaml(R"(
sinks:
  - {name: events, type: file, path: e.jsonl, flush_interval: soon}
)")),
              HasSubstr(R"(sinks[0].flush_interval: expected a duration like "30s", got "soon")"));
}

TEST(ConfigTables, NoWarningsForACleanConfig) {
  EXPECT_TRUE(
      load_config_text("sinks: [{name: e, type: file, path: e.jsonl}]", "t", "/").warnings.empty());
}

TEST(ConfigTables, PlainHttpSinkNeedsAllowPlainHttp) {
  const std::string sink = "sinks: [{name: dis, type: dimo_https, url: \"http://127.0.0.1:1/\"}]\n";
  EXPECT_THAT(load_error(sink),
              HasSubstr("sinks[0].url: plain http:// needs http.allow_plain_http: true"));
  EXPECT_EQ(load_config_text("http: {allow_plain_http: true}\n" + sink, "t", "/").sinks.size(), 1u);
}

TEST(ConfigTables, KekSourceMustNotBeEmpty) {
  EXPECT_THAT(load_error("vault: {kek: {env: \"\"}}\n"),
              HasSubstr(R"(vault.kek.env: must not be empty, got "")"));
  EXPECT_THAT(load_error("vault: {kek: {}}\n"),
              HasSubstr("vault.kek: give exactly one of env, file or command"));
}

TEST(ConfigTables, BoundsOnSizesAndPorts) {
  std::string error = load_error(yaml(R"(
outbox: {max_bytes: 1KiB}
sinks:
  - {name: m, type: mqtt, port: 70000}
)"));
  EXPECT_THAT(error, HasSubstr(R"(outbox.max_bytes: must be at least 1MiB, got "1KiB")"));
  EXPECT_THAT(error, HasSubstr(R"(sinks[0].port: must be a TCP port (1-65535), got "70000")"));
}

TEST(ConfigTables, SecretValuesAreNeverQuoted) {
  std::string error = load_error(yaml(R"(
sinks:
  - {name: m, type: mqtt, password: [hunter2]}
)"));
  EXPECT_THAT(error, HasSubstr("sinks[0].password: expected a string, got a sequence"));
}

TEST(ConfigTables, KeyOfAnotherSinkType) {
  EXPECT_THAT(load_error("sinks: [{name: e, type: file, path: e.jsonl, url: x}]\n"),
              HasSubstr("sinks[0].url: does not apply to a file sink"));
}

// staleness is a row of every sink type (readiness), not of one type's table.
TEST(ConfigTables, StalenessAppliesToEverySinkType) {
  Config config = load_config_text(yaml(R"(
sinks:
  - {name: f, type: file, path: e.jsonl, staleness: 2s}
  - {name: d, type: dimo_https, url: "https://ingest.example/", staleness: 90s}
  - {name: m, type: mqtt, host: broker.example, staleness: 1h}
  - {name: dflt, type: file, path: g.jsonl}
)"),
                                   "test.yaml", "/");
  ASSERT_EQ(config.sinks.size(), 4u);
  EXPECT_EQ(config.sinks[0].staleness, std::chrono::seconds(2));
  EXPECT_EQ(config.sinks[1].staleness, std::chrono::seconds(90));
  EXPECT_EQ(config.sinks[2].staleness, std::chrono::hours(1));
  EXPECT_EQ(config.sinks[3].staleness, std::chrono::minutes(5));
  EXPECT_THAT(load_error("sinks: [{name: e, type: file, path: e.jsonl, staleness: 0s}]\n"),
              HasSubstr("sinks[0].staleness"));
}

}  // namespace
}  // namespace oemlink::config
