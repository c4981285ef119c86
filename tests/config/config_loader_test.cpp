#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "core/config/config.hpp"
#include "core/config/config_error.hpp"
#include "tests/config/test_support.hpp"

namespace oemlink::config {
namespace {

using ::testing::HasSubstr;
using testing::load_error;
using ::testing::Not;
using testing::ScopedEnv;
using testing::ScratchDir;
using testing::testdata_dir;
using testing::yaml;
using namespace std::chrono_literals;

constexpr std::string_view kMockDriver = R"(
drivers:
  - name: mock
    library: mock
)";

TEST(ConfigLoader, EmptyDocumentGivesDefaults) {
  Config config = load_config_text("", "<embedded>", "/srv/app");
  EXPECT_EQ(config.source, "<embedded>");
  EXPECT_EQ(config.base_dir, "/srv/app");
  EXPECT_EQ(config.data_dir, "/srv/app/var/oemlink");
  EXPECT_EQ(config.logging.level, "info");
  EXPECT_EQ(config.logging.format, LogFormat::text);
  EXPECT_EQ(config.http.default_timeout, 30s);
  EXPECT_EQ(config.schedule.jitter, 0.1);
  EXPECT_TRUE(config.drivers.empty());
  EXPECT_TRUE(config.connections.empty());
  EXPECT_TRUE(config.sinks.empty());
}

TEST(ConfigLoader, EmptySectionsAndListsAreAllowed) {
  Config config = load_config_text(yaml(R"(
logging:
drivers: []
connections:
sinks: []
)"),
                                   "test.yaml", "/etc/oemlink");
  EXPECT_TRUE(config.drivers.empty());
  EXPECT_EQ(config.logging.level, "info");
}

TEST(ConfigLoader, ReadsEveryKey) {
  const std::filesystem::path dir = testdata_dir();
  Config config = load_config_file(dir / "full.yaml");
  EXPECT_EQ(config.source, dir / "full.yaml");
  EXPECT_EQ(config.data_dir, dir / "state");
  EXPECT_EQ(config.logging.level, "debug");
  EXPECT_EQ(config.logging.format, LogFormat::json);
  EXPECT_EQ(config.logging.file, (dir / "state/logs/oemlink.log").string());
  EXPECT_EQ(config.http.default_timeout, 45s);
  EXPECT_TRUE(config.http.allow_plain_http);
  EXPECT_EQ(config.http.ca_file, (dir / "certs/ca.pem").string());
  EXPECT_EQ(config.http.max_connections_per_host, 8u);
  EXPECT_EQ(config.schedule.jitter, 0.25);
  EXPECT_EQ(config.schedule.max_backoff, 2h);
  EXPECT_EQ(config.schedule.shutdown_timeout, 0ms);
  EXPECT_EQ(config.schedule.slow_call_warning, 1500ms);

  ASSERT_EQ(config.drivers.size(), 2u);
  const DriverConfig& mock = config.drivers[0];
  EXPECT_EQ(mock.name, "mock");
  EXPECT_EQ(mock.library, "mock");
  EXPECT_TRUE(mock.library_path.empty());
  EXPECT_EQ(mock.on_load_error, OnLoadError::skip);
  EXPECT_EQ(mock.mode, IngestMode::driver_stream);
  EXPECT_EQ(mock.poll_interval, 1min);
  EXPECT_EQ(mock.asleep_interval, 24h);
  EXPECT_EQ(mock.max_concurrent_requests, 4u);
  EXPECT_EQ(mock.rate_limit.per_second, 2.5);
  EXPECT_EQ(mock.rate_limit.burst, 5u);
  ASSERT_TRUE(mock.settings.is_mapping());
  ASSERT_NE(mock.settings.find("retries"), nullptr);
  EXPECT_EQ(mock.settings.find("retries")->text, "3");
  EXPECT_EQ(mock.position.line, 15);
  EXPECT_EQ(mock.position.column, 5);
  EXPECT_EQ(mock.key_path, "drivers[0]");
  EXPECT_EQ(mock.base_dir, dir);
  EXPECT_EQ(config.drivers[1].library, "../plugins/liblocal.so");
  EXPECT_EQ(config.drivers[1].library_path, dir.parent_path() / "plugins/liblocal.so");
  EXPECT_TRUE(config.drivers[1].settings.is_null());

  ASSERT_EQ(config.connections.size(), 2u);
  const ConnectionConfig& car = config.connections[0];
  EXPECT_EQ(car.id, "car-1");
  EXPECT_EQ(car.driver, "mock");
  EXPECT_EQ(car.vin, "5YJ3E1EA7KF000001");
  EXPECT_EQ(car.identifiers,
            (std::map<std::string, std::string>{{"tesla_id", "123"}, {"region", "eu"}}));
  EXPECT_EQ(car.vehicle_token_id, 18446744073709551615ull);
  EXPECT_EQ(car.synthetic_token_id, 7u);
  EXPECT_EQ(car.key_child, 2147483647u);
  EXPECT_EQ(car.poll_interval, 250ms);
  EXPECT_EQ(config.connections[1].id, "car.2:b_c");
  EXPECT_EQ(config.connections[1].key_child, 0u);
  EXPECT_FALSE(config.connections[1].poll_interval.has_value());

  ASSERT_EQ(config.sinks.size(), 2u);
  EXPECT_EQ(config.sinks[0].name, "events");
  EXPECT_EQ(config.sinks[0].type, "file");
  EXPECT_EQ(config.sinks[0].file.path, dir / "state/events.jsonl");
  EXPECT_EQ(config.sinks[0].file.rotate_bytes, 1ull << 30);
  EXPECT_EQ(config.sinks[0].file.keep_files, 3u);
  // flush_interval is deprecated: accepted with a warning, and it changes nothing.
  EXPECT_EQ(config.sinks[0].file.flush_interval, FileSinkConfig{}.flush_interval);
  ASSERT_EQ(config.warnings.size(), 1u);
  EXPECT_THAT(config.warnings[0],
              HasSubstr(dir.string() + "/full.yaml:46:21: sinks[0].flush_interval: deprecated and "
                                       "ignored"));
  EXPECT_EQ(config.sinks[1].file.path, "/var/archive/events.jsonl");
  EXPECT_EQ(config.sinks[1].file.rotate_bytes, 256ull << 20);
}

// --- errors ------------------------------------------------------------------------------------

TEST(ConfigErrors, SyntaxErrorHasPosition) {
  const std::filesystem::path file = testdata_dir() / "syntax_error.yaml";
  try {
    load_config_file(file);
    FAIL() << "expected a ConfigError";
  } catch (const ConfigError& error) {
    ASSERT_EQ(error.diagnostics().size(), 1u);
    // yaml-cpp notices the unclosed flow sequence of line 4 at the ':' on line 5.
    EXPECT_THAT(
        error.what(),
        HasSubstr(file.string() + ":5:12: YAML syntax error: end of sequence flow not found"));
  }
}

TEST(ConfigErrors, MissingFileNamesThePath) {
  try {
    load_config_file("/nonexistent/oemlink.yaml");
    FAIL() << "expected a ConfigError";
  } catch (const ConfigError& error) {
    EXPECT_THAT(error.what(), HasSubstr("/nonexistent/oemlink.yaml: cannot read the "
                                        "configuration file: No such file or directory"));
  }
}

// /dev/zero never ends; a huge file is a mistake. Both are refused by size, naming the file,
// instead of reading until memory runs out.
TEST(ConfigErrors, EndlessOrHugeConfigFileIsRefusedBySize) {
  testing::ScratchDir dir;
  const auto huge = dir.write("huge.yaml", "data_dir: x\n" + std::string(5 << 20, '#'));
  for (const std::filesystem::path& file : {std::filesystem::path("/dev/zero"), huge}) {
    try {
      load_config_file(file);
      FAIL() << "expected a ConfigError for " << file;
    } catch (const ConfigError& error) {
      EXPECT_THAT(error.what(), HasSubstr(file.string() + ": cannot read the configuration file: "
                                                          "larger than 4 MiB"));
    }
  }
  const auto fits = dir.write("fits.yaml", "data_dir: x\n#" + std::string(3 << 20, ' ') + "\n");
  EXPECT_NO_THROW(load_config_file(fits));
}

TEST(ConfigErrors, AnAliasBombIsRefusedBeforeItExpands) {
  testing::ScratchDir dir;
  // "Billion laughs": nine levels of ten aliases each, 10^9 nodes from a few hundred bytes.
  std::string yaml = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i <= 9; ++i) {
    std::string prev = "*a" + std::to_string(i - 1);
    yaml += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [" + prev;
    for (int k = 1; k < 10; ++k) yaml += ", " + prev;
    yaml += "]\n";
  }
  const auto bomb = dir.write("bomb.yaml", yaml);
  try {
    load_config_file(bomb);
    FAIL() << "an alias bomb was expanded";
  } catch (const ConfigError& error) {
    EXPECT_THAT(error.what(), HasSubstr("bomb.yaml:"));
    EXPECT_THAT(error.what(), HasSubstr("aliases (*name) expand this document"));
  }
  // Ordinary aliases still work.
  const auto fine = dir.write("fine.yaml", "data_dir: &d x\nlogging: {level: info}\n");
  EXPECT_NO_THROW(load_config_file(fine));
}

TEST(ConfigErrors, AFifoIsRefusedInsteadOfWaitedOn) {
  testing::ScratchDir dir;
  const auto fifo = dir.path() / "config.fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  try {
    load_config_file(fifo);  // before the fix: blocks forever waiting for a writer
    FAIL();
  } catch (const ConfigError& error) {
    EXPECT_THAT(error.what(), HasSubstr("a FIFO or socket, not a file"));
  }
}

TEST(ConfigErrors, UnknownTopLevelKeySuggestsAndListsValidKeys) {
  EXPECT_THAT(load_error("lgging: {}\n"),
              HasSubstr("test.yaml:1:1: lgging: unknown key \"lgging\" (did you mean "
                        "\"logging\"?); valid: data_dir, logging, http, schedule, quarantine, dimo, "
                        "vault, data_kek, outbox, drivers, connections, sinks"));
}

TEST(ConfigErrors, UnknownNestedKeyWithoutCloseMatchHasNoSuggestion) {
  std::string error = load_error(yaml(R"(
drivers:
  - name: mock
    library: mock
    frobnicate: 1
)"));
  EXPECT_THAT(error, HasSubstr("test.yaml:4:5: drivers[0].frobnicate: unknown key "
                               "\"frobnicate\"; valid: name, library,"));
  EXPECT_THAT(error, Not(HasSubstr("did you mean")));
}

TEST(ConfigErrors, DuplicateYamlKey) {
  EXPECT_THAT(load_error("data_dir: a\ndata_dir: b\n"),
              HasSubstr("test.yaml:2:1: data_dir: duplicate key (first given at line 1)"));
}

TEST(ConfigErrors, WrongTypes) {
  std::string error = load_error(yaml(R"(
http:
  default_timeout: abc
  allow_plain_http: maybe
  max_connections_per_host: many
schedule:
  jitter: lots
logging: [info]
drivers:
  - name: mock
    library: mock
    poll_interval: 30
connections: {id: car}
)"));
  EXPECT_THAT(
      error,
      HasSubstr(
          R"(test.yaml:2:20: http.default_timeout: expected a duration like "30s", got "abc")"));
  EXPECT_THAT(
      error,
      HasSubstr(R"(test.yaml:3:21: http.allow_plain_http: expected true or false, got "maybe")"));
  EXPECT_THAT(
      error,
      HasSubstr(
          R"(test.yaml:4:29: http.max_connections_per_host: expected an integer, got "many")"));
  EXPECT_THAT(error,
              HasSubstr(R"(test.yaml:6:11: schedule.jitter: expected a number, got "lots")"));
  EXPECT_THAT(error, HasSubstr(R"(test.yaml:7:10: logging: expected a mapping, got a sequence)"));
  EXPECT_THAT(
      error,
      HasSubstr(
          R"(test.yaml:11:20: drivers[0].poll_interval: expected a duration like "30s", got "30" (add a unit: ms, s, m, h or d))"));
  EXPECT_THAT(error,
              HasSubstr(R"(test.yaml:12:14: connections: expected a sequence, got a mapping)"));
}

TEST(ConfigErrors, MissingRequiredKeys) {
  std::string error = load_error(yaml(R"(
drivers:
  - mode: poll
connections:
  - id: car-1
    driver: mock
sinks:
  - name: events
    type: file
)"));
  EXPECT_THAT(error, HasSubstr(R"(test.yaml:2:5: drivers[0].name: missing required key "name")"));
  EXPECT_THAT(error,
              HasSubstr(R"(test.yaml:2:5: drivers[0].library: missing required key "library")"));
  EXPECT_THAT(
      error,
      HasSubstr(R"(test.yaml:4:5: connections[0].key_child: missing required key "key_child")"));
  EXPECT_THAT(error, HasSubstr(R"(test.yaml:7:5: sinks[0].path: missing required key "path")"));
}

TEST(ConfigErrors, NegativeAndZeroIntervals) {
  std::string error = load_error(yaml(R"(
drivers:
  - name: mock
    library: mock
    poll_interval: -5s
    asleep_interval: 0s
schedule: {max_backoff: -1h}
)"));
  EXPECT_THAT(
      error,
      HasSubstr(R"(test.yaml:4:20: drivers[0].poll_interval: must not be negative, got "-5s")"));
  EXPECT_THAT(
      error,
      HasSubstr(
          R"(test.yaml:5:22: drivers[0].asleep_interval: must be greater than zero, got "0s")"));
  EXPECT_THAT(
      error, HasSubstr(R"(test.yaml:6:25: schedule.max_backoff: must not be negative, got "-1h")"));
}

TEST(ConfigErrors, JitterOutsideRange) {
  EXPECT_THAT(
      load_error("schedule:\n  jitter: 0.7\n"),
      HasSubstr(R"(test.yaml:2:11: schedule.jitter: must be between 0 and 0.5, got "0.7")"));
  EXPECT_THAT(
      load_error("schedule:\n  jitter: -0.1\n"),
      HasSubstr(R"(test.yaml:2:11: schedule.jitter: must be between 0 and 0.5, got "-0.1")"));
  EXPECT_EQ(load_config_text("schedule: {jitter: 0.5}", "t", "/").schedule.jitter, 0.5);
  EXPECT_EQ(load_config_text("schedule: {jitter: 0}", "t", "/").schedule.jitter, 0.0);
}

TEST(ConfigErrors, UnknownLogLevelListsLevels) {
  EXPECT_THAT(
      load_error("logging:\n  level: verbose\n"),
      HasSubstr(
          R"(test.yaml:2:10: logging.level: unknown value "verbose"; valid: trace, debug, info, warn, error)"));
}

TEST(ConfigLoader, ModePollPlusDriverStreamIsItsOwnChoice) {
  Config config = load_config_text(yaml(R"(
drivers:
  - name: tesla
    library: tesla
    mode: poll+driver_stream
  - name: mock
    library: mock
    mode: driver_stream
)"),
                                   "test.yaml", "/etc/oemlink");
  ASSERT_EQ(config.drivers.size(), 2u);
  EXPECT_EQ(config.drivers[0].mode, IngestMode::poll_and_driver_stream);
  EXPECT_EQ(config.drivers[1].mode, IngestMode::driver_stream);
  EXPECT_THAT(load_error(yaml(R"(
drivers:
  - name: tesla
    library: tesla
    mode: poll+stream
)")),
              HasSubstr(R"(drivers[0].mode: unknown value "poll+stream")"));
}

TEST(ConfigErrors, UnknownEnumValueSuggestsAndLists) {
  std::string error = load_error(yaml(R"(
logging: {format: xml}
drivers:
  - name: mock
    library: mock
    mode: pol
    on_load_error: ignore
)"));
  EXPECT_THAT(
      error,
      HasSubstr(R"(test.yaml:1:19: logging.format: unknown value "xml"; valid: text, json)"));
  EXPECT_THAT(
      error,
      HasSubstr(
          R"(test.yaml:5:11: drivers[0].mode: unknown value "pol" (did you mean "poll"?); valid: poll, stream, driver_stream, poll+driver_stream)"));
  EXPECT_THAT(
      error,
      HasSubstr(
          R"(test.yaml:6:20: drivers[0].on_load_error: unknown value "ignore"; valid: fail, skip)"));
}

TEST(ConfigErrors, KeyChildMustBeBelowTwoToThe31) {
  std::string config = std::string(kMockDriver) + R"(connections:
  - id: car-1
    driver: mock
    key_child: 2147483648
)";
  EXPECT_THAT(
      load_error(yaml(config)),
      HasSubstr(R"(test.yaml:7:16: connections[0].key_child: must be below 2^31 (2147483648))"));
}

TEST(ConfigErrors, NegativeIntegerIsNamedAsSuch) {
  std::string config = std::string(kMockDriver) + R"(connections:
  - {id: car-1, driver: mock, key_child: -1}
)";
  EXPECT_THAT(
      load_error(yaml(config)),
      HasSubstr(R"(test.yaml:5:42: connections[0].key_child: must not be negative, got "-1")"));
}

TEST(ConfigErrors, DuplicateDriverNames) {
  EXPECT_THAT(
      load_error(yaml(R"(
drivers:
  - name: mock
    library: mock
  - name: mock
    library: ./other.so
)")),
      HasSubstr(
          R"(test.yaml:4:11: drivers[1].name: duplicate driver name "mock" (first at line 2))"));
}

TEST(ConfigErrors, NamePatterns) {
  std::string config(yaml(R"(
drivers:
  - name: Mock
    library: mock
connections:
  - id: car 1
    driver: Mock
    key_child: 1
)"));
  std::string error = load_error(config);
  EXPECT_THAT(error,
              HasSubstr(R"(test.yaml:2:11: drivers[0].name: must match [a-z0-9_-]+, got "Mock")"));
  EXPECT_THAT(
      error,
      HasSubstr(R"(test.yaml:5:9: connections[0].id: must match [A-Za-z0-9_.:-]+, got "car 1")"));
}

TEST(ConfigErrors, DuplicateConnectionIdsAndKeyChildren) {
  std::string config = std::string(kMockDriver) + R"(connections:
  - {id: car-1, driver: mock, key_child: 1}
  - {id: car-1, driver: mock, key_child: 2}
  - {id: car-3, driver: mock, key_child: 1}
)";
  std::string error = load_error(yaml(config));
  EXPECT_THAT(
      error,
      HasSubstr(
          R"(test.yaml:6:10: connections[1].id: duplicate connection id "car-1" (first at line 5))"));
  EXPECT_THAT(
      error,
      HasSubstr(
          R"(test.yaml:7:42: connections[2].key_child: key_child 1 is already used by connection "car-1")"));
}

TEST(ConfigErrors, ConnectionNamesUnconfiguredDriver) {
  std::string config = std::string(kMockDriver) + R"(connections:
  - id: car-1
    driver: mok
    key_child: 1
)";
  EXPECT_THAT(
      load_error(yaml(config)),
      HasSubstr(
          R"(test.yaml:6:13: connections[0].driver: unknown driver "mok" (did you mean "mock"?); valid: mock (configure it under drivers:))"));
}

TEST(ConfigErrors, InvalidVins) {
  std::string config = std::string(kMockDriver) + R"(connections:
  - {id: a, driver: mock, key_child: 1, vin: 5YJ3E1EA7KF00000I}
  - {id: b, driver: mock, key_child: 2, vin: 5YJ3E1EA7KF00001}
  - {id: c, driver: mock, key_child: 3, vin: 5yj3e1ea7kf000001}
  - {id: d, driver: mock, key_child: 4, vin: ""}
)";
  try {
    load_config_text(yaml(config), "test.yaml", "/");
    FAIL() << "expected a ConfigError";
  } catch (const ConfigError& error) {
    EXPECT_EQ(error.diagnostics().size(), 3u) << error.what();
    EXPECT_THAT(
        error.what(),
        HasSubstr(
            R"(test.yaml:5:46: connections[0].vin: a VIN is 17 characters of 0-9 and A-Z without I, O and Q, got "5YJ3E1EA7KF00000I")"));
    EXPECT_THAT(error.what(), HasSubstr(R"(test.yaml:6:46: connections[1].vin:)"));
    EXPECT_THAT(error.what(), HasSubstr(R"(test.yaml:7:46: connections[2].vin:)"));
  }
}

TEST(ConfigErrors, SinkTypeAndDuplicateSinkNames) {
  std::string error = load_error(yaml(R"(
sinks:
  - {name: events, type: file, path: a.jsonl}
  - {name: events, type: file, path: b.jsonl}
  - {name: cloud, type: kafka}
  - {name: big, type: file, path: c.jsonl, rotate_bytes: 10 apples}
)"));
  EXPECT_THAT(
      error,
      HasSubstr(
          R"(test.yaml:3:12: sinks[1].name: duplicate sink name "events" (first at line 2))"));
  EXPECT_THAT(error,
              HasSubstr(R"(test.yaml:4:25: sinks[2].type: unknown value "kafka"; valid: file)"));
  EXPECT_THAT(
      error,
      HasSubstr(
          R"(test.yaml:5:58: sinks[3].rotate_bytes: expected a size like "256MiB", got "10 apples")"));
}

TEST(ConfigErrors, CollectsEveryProblemInOnePassInDocumentOrder) {
  const std::filesystem::path file = testdata_dir() / "many_errors.yaml";
  try {
    load_config_file(file);
    FAIL() << "expected a ConfigError";
  } catch (const ConfigError& error) {
    const std::string f = file.string();
    std::vector<std::string> expected = {
        f + ":1:1: lgging: unknown key \"lgging\" (did you mean \"logging\"?)",
        f + ":4:11: schedule.jitter: must be between 0 and 0.5",
        f + ":6:11: drivers[0].name: must match [a-z0-9_-]+",
        f + ":8:5: drivers[0].pol_interval: unknown key \"pol_interval\" (did you mean "
            "\"poll_interval\"?)",
        f + ":9:20: drivers[0].poll_interval: expected a duration like \"30s\", got \"30\"",
        f + ":10:5: drivers[1].library: missing required key \"library\"",
        f + ":13:13: connections[0].driver: unknown driver \"teslaa\" (did you mean \"tesla\"?)",
        f + ":14:16: connections[0].key_child: must be below 2^31",
        f + ":15:10: connections[0].vin: a VIN is 17 characters",
        f + ":18:11: sinks[0].type: unknown value \"kafka\"",
    };
    ASSERT_EQ(error.diagnostics().size(), expected.size()) << error.what();
    std::istringstream lines(error.what());
    std::string line;
    for (const std::string& prefix : expected) {
      ASSERT_TRUE(std::getline(lines, line));
      EXPECT_THAT(line, ::testing::StartsWith(prefix));
    }
  }
}

TEST(ConfigErrors, DiagnosticFormat) {
  EXPECT_EQ(format_diagnostic({{"a.yaml", 3, 7}, "http.ca_file", "bad"}),
            "a.yaml:3:7: http.ca_file: bad");
  EXPECT_EQ(format_diagnostic({{"a.yaml", 0, 0}, "", "unreadable"}), "a.yaml: unreadable");
  ConfigError error({{{"a", 1, 1}, "x", "one"}, {{"a", 2, 1}, "y", "two"}});
  EXPECT_STREQ(error.what(), "a:1:1: x: one\na:2:1: y: two");
}

TEST(ConfigErrors, EmbeddedSourceIsNamed) {
  try {
    load_config_text("http: {ca_file: [x]}", "<embedded>", ".");
    FAIL() << "expected a ConfigError";
  } catch (const ConfigError& error) {
    EXPECT_THAT(error.what(), HasSubstr("<embedded>:1:17: http.ca_file: expected a string"));
  }
}

// --- substitution ------------------------------------------------------------------------------

TEST(ConfigSubstitution, EnvironmentVariables) {
  ScopedEnv dir("OEMLINK_TEST_DATA_DIR", "/var/lib/oemlink");
  ScopedEnv unset("OEMLINK_TEST_UNSET", nullptr);
  Config config = load_config_text(yaml(R"(
data_dir: ${OEMLINK_TEST_DATA_DIR}
logging: {level: "${OEMLINK_TEST_UNSET:-warn}"}
http: {ca_file: "$${literal}"}
)"),
                                   "test.yaml", "/");
  EXPECT_EQ(config.data_dir, "/var/lib/oemlink");
  EXPECT_EQ(config.logging.level, "warn");
  EXPECT_EQ(config.http.ca_file, "/${literal}");
}

TEST(ConfigSubstitution, UnsetVariableIsNamedWithPosition) {
  ScopedEnv unset("OEMLINK_TEST_UNSET", nullptr);
  EXPECT_THAT(load_error("logging:\n  file: logs/${OEMLINK_TEST_UNSET}.log\n"),
              HasSubstr("test.yaml:2:9: logging.file: environment variable OEMLINK_TEST_UNSET is "
                        "not set (in \"${OEMLINK_TEST_UNSET}\""));
}

TEST(ConfigSubstitution, FileContentRelativeToConfigDir) {
  Config config = load_config_file(testdata_dir() / "with_file_secret.yaml");
  ASSERT_EQ(config.drivers.size(), 1u);
  // Settings keep the placeholder; driver_settings_to_json expands it (see its tests).
  ASSERT_NE(config.drivers[0].settings.find("token"), nullptr);
  EXPECT_EQ(config.drivers[0].settings.find("token")->text, "${file:secrets/token.txt}");
}

TEST(ConfigSubstitution, MissingFileIsNamedAndPlaceholdersInSettingsAreCheckedAtLoad) {
  std::string error = load_error(yaml(R"(
drivers:
  - name: mock
    library: mock
    settings:
      nested: {token: "${file:missing/token.txt}"}
)"),
                                 "/etc/oemlink");
  EXPECT_THAT(error, HasSubstr("test.yaml:5:23: drivers[0].settings.nested.token: cannot read file "
                               "\"/etc/oemlink/missing/token.txt\" for "
                               "\"${file:missing/token.txt}\": No such file or directory"));
}

TEST(ConfigSubstitution, SubstitutedValuesAreNeverEchoed) {
  ScopedEnv secret("OEMLINK_TEST_SECRET", "hunter2");
  std::string config = std::string(kMockDriver) + R"(connections:
  - id: car-1
    driver: mock
    key_child: ${OEMLINK_TEST_SECRET}
    vin: ${OEMLINK_TEST_SECRET}
)";
  std::string error = load_error(yaml(config));
  EXPECT_THAT(
      error,
      HasSubstr(R"(connections[0].key_child: expected an integer, got "${OEMLINK_TEST_SECRET}")"));
  EXPECT_THAT(
      error,
      HasSubstr(
          R"(connections[0].vin: a VIN is 17 characters of 0-9 and A-Z without I, O and Q, got "${OEMLINK_TEST_SECRET}")"));
  EXPECT_THAT(error, Not(HasSubstr("hunter2")));
}

TEST(ConfigSubstitution, KeysAreNotSubstituted) {
  EXPECT_THAT(load_error("${HOME}: 1\n"), HasSubstr(R"(unknown key "${HOME}")"));
}

// --- paths -------------------------------------------------------------------------------------

TEST(ConfigPaths, ResolveAgainstTheConfigFileDirectory) {
  ScratchDir scratch;
  scratch.write("etc/secrets/ca.pem", "pem");
  std::filesystem::path file = scratch.write("etc/oemlink.yaml", yaml(R"(
data_dir: ../var
http: {ca_file: secrets/ca.pem}
logging: {file: /var/log/oemlink.log}
drivers:
  - {name: bare, library: tesla}
  - {name: relative, library: ./plugins/libmock.so}
  - {name: absolute, library: /opt/oemlink/libx.so}
sinks:
  - {name: relative, type: file, path: out/events.jsonl}
  - {name: absolute, type: file, path: /data/events.jsonl}
)"));
  Config config = load_config_file(file);
  const std::filesystem::path root = scratch.path();
  EXPECT_EQ(config.base_dir, root / "etc");
  EXPECT_EQ(config.data_dir, root / "var");
  EXPECT_EQ(config.http.ca_file, (root / "etc/secrets/ca.pem").string());
  EXPECT_EQ(config.logging.file, "/var/log/oemlink.log");
  EXPECT_TRUE(config.drivers[0].library_path.empty());
  EXPECT_EQ(config.drivers[0].library, "tesla");
  EXPECT_EQ(config.drivers[1].library_path, root / "etc/plugins/libmock.so");
  EXPECT_EQ(config.drivers[2].library_path, "/opt/oemlink/libx.so");
  EXPECT_EQ(config.sinks[0].file.path, root / "var/out/events.jsonl");
  EXPECT_EQ(config.sinks[1].file.path, "/data/events.jsonl");
}

TEST(ConfigPaths, RelativeConfigPathResolvesAgainstCurrentDirectory) {
  ScratchDir scratch;
  scratch.write("oemlink.yaml", "data_dir: state\n");
  std::filesystem::path previous = std::filesystem::current_path();
  std::filesystem::current_path(scratch.path());
  Config config = load_config_file("oemlink.yaml");
  std::filesystem::current_path(previous);
  EXPECT_EQ(config.data_dir, scratch.path() / "state");
}

// --- the project's own configuration -----------------------------------------------------------

TEST(ProjectConfig, ShippedConfigLoads) {
  const std::filesystem::path file =
      std::filesystem::path(OEMLINK_SOURCE_DIR) / "config/oemlink.yaml";
  if (!std::filesystem::exists(file)) GTEST_SKIP() << file << " does not exist yet";
  try {
    Config config = load_config_file(file);
    EXPECT_EQ(config.source, file);
    // It is also the built-in default, read with the current directory as base.
    std::ifstream stream(file);
    std::string text((std::istreambuf_iterator<char>(stream)), std::istreambuf_iterator<char>());
    Config embedded = load_config_text(text, "<embedded>", std::filesystem::current_path());
    EXPECT_EQ(embedded.source, "<embedded>");
    EXPECT_EQ(embedded.drivers.size(), config.drivers.size());
  } catch (const ConfigError& error) {
    FAIL() << error.what();
  }
}

}  // namespace
}  // namespace oemlink::config
