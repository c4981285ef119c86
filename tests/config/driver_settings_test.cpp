#include "core/config/driver_settings.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "core/config/yaml_document.hpp"
#include "tests/config/test_support.hpp"

namespace oemlink::config {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing::ScopedEnv;
using testing::testdata_dir;
using testing::yaml;

constexpr uint32_t kRow = sizeof(oemlink_setting);

constexpr oemlink_setting kTable[] = {
    {kRow, "client_id", OEMLINK_SETTING_STRING, OEMLINK_SETTING_REQUIRED, nullptr, "OAuth id"},
    {kRow, "client_secret", OEMLINK_SETTING_STRING,
     OEMLINK_SETTING_REQUIRED | OEMLINK_SETTING_SECRET, nullptr, "OAuth secret"},
    {kRow, "retries", OEMLINK_SETTING_INT, 0, "3", "attempts per poll"},
    {kRow, "ratio", OEMLINK_SETTING_NUMBER, 0, "0.5", "a fraction"},
    {kRow, "sandbox", OEMLINK_SETTING_BOOL, 0, "false", "use the sandbox API"},
    {kRow, "timeout", OEMLINK_SETTING_DURATION_MS, 0, "30s", "per request"},
    {kRow, "regions", OEMLINK_SETTING_OBJECT, 0, nullptr, "free-form"},
    {kRow, "pin", OEMLINK_SETTING_INT, OEMLINK_SETTING_SECRET, nullptr, "car PIN"},
};

// The driver entry of a config whose `drivers[0]` carries `settings_block` (indented 4).
DriverConfig driver_with(std::string_view settings_block) {
  std::string text =
      "drivers:\n  - name: tesla\n    library: tesla\n" + std::string(settings_block);
  Config config = load_config_text(text, "test.yaml", "/etc/oemlink");
  return config.drivers.at(0);
}

boost::json::value settings_json(const DriverConfig& driver,
                                 std::span<const oemlink_setting> table = kTable) {
  return boost::json::parse(driver_settings_to_json(driver, table, "tesla"));
}

std::string settings_error(const DriverConfig& driver,
                           std::span<const oemlink_setting> table = kTable) {
  try {
    driver_settings_to_json(driver, table, "tesla");
  } catch (const ConfigError& error) {
    return error.what();
  }
  ADD_FAILURE() << "expected a ConfigError";
  return {};
}

TEST(ConfigDriverSettings, ConvertsEveryType) {
  DriverConfig driver = driver_with(R"(    settings:
      client_id: abc
      client_secret: "s3cret"
      retries: 5
      ratio: 2.5
      sandbox: true
      timeout: 1.5s
      regions: {eu: [1, "2", true, null, 1.5, text], code: "007", plain: 007}
      pin: 1234
)");
  EXPECT_EQ(settings_json(driver), boost::json::parse(R"({
    "client_id": "abc", "client_secret": "s3cret", "retries": 5, "ratio": 2.5,
    "sandbox": true, "timeout": 1500,
    "regions": {"eu": [1, "2", true, null, 1.5, "text"], "code": "007", "plain": 7},
    "pin": 1234})"));
}

TEST(ConfigDriverSettings, FillsDefaultsAndReturnsCompactJsonInTableOrder) {
  constexpr oemlink_setting kSmallTable[] = {
      {kRow, "timeout", OEMLINK_SETTING_DURATION_MS, 0, "30s", ""},
      {kRow, "client_id", OEMLINK_SETTING_STRING, OEMLINK_SETTING_REQUIRED, nullptr, ""},
      {kRow, "retries", OEMLINK_SETTING_INT, 0, "3", ""},
      {kRow, "sandbox", OEMLINK_SETTING_BOOL, 0, "false", ""},
      {kRow, "optional", OEMLINK_SETTING_STRING, 0, nullptr, ""},
  };
  DriverConfig driver = driver_with("    settings: {client_id: abc, retries: 4}\n");
  EXPECT_EQ(driver_settings_to_json(driver, kSmallTable, "tesla"),
            R"({"timeout":30000,"client_id":"abc","retries":4,"sandbox":false})");
}

TEST(ConfigDriverSettings, EmptyTableAndNoSettings) {
  DriverConfig driver = driver_with("");
  EXPECT_EQ(driver_settings_to_json(driver, {}, "tesla"), "{}");
}

TEST(ConfigDriverSettings, MissingRequiredSettingsPointAtTheDriverWhenThereIsNoBlock) {
  std::string error = settings_error(driver_with(""));
  EXPECT_THAT(
      error,
      HasSubstr(
          R"(test.yaml:2:5: drivers[0].settings.client_id: missing required setting "client_id" of driver "tesla")"));
  EXPECT_THAT(
      error,
      HasSubstr(
          R"(test.yaml:2:5: drivers[0].settings.client_secret: missing required setting "client_secret" of driver "tesla")"));
}

TEST(ConfigDriverSettings, UnknownKeysAndTypeErrorsWithPositions) {
  DriverConfig driver = driver_with(R"(    settings:
      client_id: abc
      client_secrt: x
      retries: many
      timeout: 30
      sandbox: maybe
      regions: eu
      ratio: [1]
)");
  try {
    driver_settings_to_json(driver, kTable, "tesla");
    FAIL() << "expected a ConfigError";
  } catch (const ConfigError& error) {
    std::vector<std::string> expected = {
        R"(test.yaml:5:7: drivers[0].settings.client_secret: missing required setting "client_secret" of driver "tesla")",
        R"(test.yaml:6:7: drivers[0].settings.client_secrt: unknown setting "client_secrt" (did you mean "client_secret"?); valid: client_id, client_secret, retries, ratio, sandbox, timeout, regions, pin)",
        R"(test.yaml:7:16: drivers[0].settings.retries: expected an integer, got "many")",
        R"(test.yaml:8:16: drivers[0].settings.timeout: expected a duration like "30s", got "30" (add a unit: ms, s, m, h or d))",
        R"(test.yaml:9:16: drivers[0].settings.sandbox: expected true or false, got "maybe")",
        R"(test.yaml:10:16: drivers[0].settings.regions: expected a mapping or a sequence, got "eu")",
        R"(test.yaml:11:14: drivers[0].settings.ratio: expected a number, got a sequence)",
    };
    std::vector<std::string> actual;
    for (const Diagnostic& diagnostic : error.diagnostics()) {
      actual.push_back(format_diagnostic(diagnostic));
    }
    EXPECT_EQ(actual, expected);
  }
}

TEST(ConfigDriverSettings, SecretValuesNeverAppearInErrors) {
  ScopedEnv pin("OEMLINK_TEST_PIN", "98x7");
  DriverConfig driver = driver_with(R"(    settings:
      client_id: abc
      client_secret: {nested: hunter2}
      pin: "${OEMLINK_TEST_PIN}"
)");
  std::string error = settings_error(driver);
  EXPECT_THAT(
      error,
      HasSubstr(
          R"(test.yaml:6:22: drivers[0].settings.client_secret: expected a string, got a mapping)"));
  EXPECT_THAT(
      error,
      HasSubstr(
          R"(test.yaml:7:12: drivers[0].settings.pin: expected an integer, got a secret value (not shown))"));
  EXPECT_THAT(error, Not(HasSubstr("hunter2")));
  EXPECT_THAT(error, Not(HasSubstr("98x7")));
  EXPECT_THAT(error, Not(HasSubstr("OEMLINK_TEST_PIN")));
}

TEST(ConfigDriverSettings, NonSecretErrorsShowThePlaceholderNotItsValue) {
  ScopedEnv retries("OEMLINK_TEST_RETRIES", "lots");
  DriverConfig driver = driver_with(R"(    settings:
      client_id: abc
      client_secret: s
      retries: ${OEMLINK_TEST_RETRIES}
)");
  std::string error = settings_error(driver);
  EXPECT_THAT(
      error,
      HasSubstr(
          R"(drivers[0].settings.retries: expected an integer, got "${OEMLINK_TEST_RETRIES}")"));
  EXPECT_THAT(error, Not(HasSubstr("lots")));
}

TEST(ConfigDriverSettings, PlaceholdersAreExpanded) {
  constexpr oemlink_setting kTokenTable[] = {
      {kRow, "token", OEMLINK_SETTING_STRING, OEMLINK_SETTING_SECRET, nullptr, ""},
      {kRow, "retries", OEMLINK_SETTING_INT, 0, nullptr, ""},
  };
  ScopedEnv retries("OEMLINK_TEST_RETRIES", "7");
  Config config = load_config_file(testdata_dir() / "with_file_secret.yaml");
  DriverConfig driver = config.drivers.at(0);
  driver.settings.entries.push_back(parse_yaml("retries: ${OEMLINK_TEST_RETRIES}").entries.at(0));
  EXPECT_EQ(driver_settings_to_json(driver, kTokenTable, "mock"),
            R"({"token":"tok-from-file","retries":7})");
}

TEST(ConfigDriverSettings, InvalidDriverDefaultIsBlamedOnTheDriver) {
  constexpr oemlink_setting kBadDefaults[] = {
      {kRow, "timeout", OEMLINK_SETTING_DURATION_MS, 0, "30", ""},
      {kRow, "key", OEMLINK_SETTING_INT, OEMLINK_SETTING_SECRET, "not-a-number", ""},
      {kRow, "list", OEMLINK_SETTING_OBJECT, 0, "[1, 2", ""},
  };
  std::string error = settings_error(driver_with(""), kBadDefaults);
  EXPECT_THAT(
      error,
      HasSubstr(
          R"(test.yaml:2:5: drivers[0].settings.timeout: driver "tesla" declares an invalid default for this setting: expected a duration like "30s", got "30")"));
  EXPECT_THAT(
      error,
      HasSubstr(
          R"(test.yaml:2:5: drivers[0].settings.key: driver "tesla" declares an invalid default for this setting: expected an integer, got a secret value (not shown))"));
  EXPECT_THAT(
      error,
      HasSubstr(
          R"(drivers[0].settings.list: driver "tesla" declares an invalid default for this setting: )"));
  EXPECT_THAT(error, Not(HasSubstr("not-a-number")));
}

TEST(ConfigDriverSettings, DefaultsAreNotExpanded) {
  constexpr oemlink_setting kLiteral[] = {
      {kRow, "template", OEMLINK_SETTING_STRING, 0, "'${HOME}/x'", ""},
  };
  EXPECT_EQ(driver_settings_to_json(driver_with(""), kLiteral, "tesla"),
            R"({"template":"${HOME}/x"})");
}

TEST(ConfigDriverSettings, HandBuiltDriverConfigWithoutPositions) {
  DriverConfig driver;
  driver.name = "mock";
  driver.settings = parse_yaml("{client_id: abc, client_secret: s, retries: x}");
  EXPECT_THAT(settings_error(driver),
              HasSubstr(R"(settings.retries: expected an integer, got "x")"));
}

}  // namespace
}  // namespace oemlink::config
