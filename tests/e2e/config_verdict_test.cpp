// `oemlink check-config FILE` and `oemlink run --config FILE` must agree: check-config refuses
// every configuration that run would refuse before opening anything, naming the same problem,
// and accepts what run starts with. One row per configuration; each runs both commands.
#include "tests/e2e/cli_fixture.hpp"

#include <string>
#include <vector>

namespace {

using namespace oemlink::testing;

struct VerdictCase {
  const char* name;  // the ctest name's last part
  std::string yaml;
  bool accepted;
  const char* problem;  // both commands' output names it ("" for accepted cases without one)
};

// Failures name the case, not its bytes.
void PrintTo(const VerdictCase& c, std::ostream* out) {
  *out << c.name;
}

// A data dir and a vault that run can create, so accepted configurations really start.
const std::string kBase =
    "data_dir: data\n"
    "vault: {create_if_missing: true, kek: {file: kek.hex}}\n";
const std::string kSink = "sinks:\n  - {name: events, type: file, path: events.jsonl}\n";
const std::string kCar = "connections:\n  - {id: car-1, driver: mock, key_child: 1}\n";

std::string with_driver(const std::string& driver_entry, const std::string& rest = kCar + kSink) {
  return kBase + "drivers:\n  - " + driver_entry + "\n" + rest;
}

const std::string kMock = "{name: mock, library: mock, poll_interval: 200ms}";

const std::vector<VerdictCase> kCases = {
    // Accepted by both.
    {"valid", with_driver(kMock), true, ""},
    {"mock_streams", with_driver("{name: mock, library: mock, mode: stream}"), true, ""},
    {"deprecated_flush_interval",
     with_driver(kMock, kCar + "sinks:\n  - {name: events, type: file, path: e.jsonl, "
                               "flush_interval: 1s}\n"),
     true, "sinks[0].flush_interval: deprecated and ignored"},
    {"missing_library_skip",
     with_driver("{name: gone, library: ./nowhere/oemlink-driver-gone.so, on_load_error: skip}",
                 "connections:\n  - {id: car-1, driver: gone, key_child: 1}\n" + kSink),
     true, "on_load_error: skip"},

    {"commit_delay_at_the_cap", with_driver(kMock) + "outbox: {commit_delay: 1s}\n", true, ""},
    {"mqtt_password_over_tls",
     with_driver(kMock, kCar + "sinks:\n  - {name: broker, type: mqtt, port: 9, tls: true, "
                               "username: u, password: hunter2-secret}\n"),
     true, ""},
    {"mqtt_password_plain_allowed",
     with_driver(kMock, kCar + "sinks:\n  - {name: broker, type: mqtt, port: 9, username: u, "
                               "password: hunter2-secret, allow_plain_mqtt: true}\n"),
     true, ""},

    // Refused by both: keys and values.
    {"unknown_top_key", with_driver(kMock) + "lgging: {level: info}\n", false,
     R"(lgging: unknown key "lgging" (did you mean "logging"?))"},
    {"unknown_driver_key", with_driver("{name: mock, library: mock, pol_interval: 5s}"), false,
     R"(drivers[0].pol_interval: unknown key "pol_interval" (did you mean "poll_interval"?))"},
    {"unknown_kek_key", "vault: {kek: {vault: x}}\n", false,
     R"(vault.kek.vault: unknown key "vault")"},
    {"wrong_type_bool", with_driver(kMock) + "http: {allow_plain_http: maybe}\n", false,
     R"(http.allow_plain_http: expected true or false, got "maybe")"},
    {"wrong_type_sequence", kBase + "connections: {id: car-1}\n", false,
     "connections: expected a sequence, got a mapping"},
    {"jitter_out_of_range", with_driver(kMock) + "schedule: {jitter: 0.7}\n", false,
     "schedule.jitter: must be between 0 and 0.5"},
    {"key_child_out_of_range",
     with_driver(kMock, "connections:\n  - {id: car-1, driver: mock, key_child: 2147483648}\n"),
     false, "connections[0].key_child: must be below 2^31"},
    {"mqtt_port_out_of_range",
     with_driver(kMock, kCar + "sinks:\n  - {name: broker, type: mqtt, port: 70000}\n"), false,
     "sinks[0].port: must be a TCP port (1-65535)"},
    {"outbox_too_small", with_driver(kMock) + "outbox: {max_bytes: 1KiB}\n", false,
     "outbox.max_bytes: must be at least 1MiB"},
    {"bare_duration", with_driver("{name: mock, library: mock, poll_interval: 30}"), false,
     "drivers[0].poll_interval: expected a duration like \"30s\", got \"30\" (add a unit"},
    {"negative_duration", with_driver("{name: mock, library: mock, poll_timeout: -5s}"), false,
     "drivers[0].poll_timeout: must not be negative"},
    {"kek_two_sources", "vault: {kek: {env: OEMLINK_KEK, file: kek.hex}}\n", false,
     "vault.kek: give exactly one of env, file or command"},
    {"kek_empty_env", "vault: {kek: {env: \"\"}}\n", false, "vault.kek.env: must not be empty"},
    {"missing_sink_path", with_driver(kMock, kCar + "sinks:\n  - {name: events, type: file}\n"),
     false, R"(sinks[0].path: missing required key "path")"},
    {"unknown_sink_type", with_driver(kMock, kCar + "sinks:\n  - {name: events, type: kafka}\n"),
     false, R"(sinks[0].type: unknown value "kafka")"},
    {"plain_http_sink",
     with_driver(
         kMock, kCar + "sinks:\n  - {name: dis, type: dimo_https, url: \"http://127.0.0.1:9/\"}\n"),
     false, "sinks[0].url: plain http:// needs http.allow_plain_http: true"},

    {"sink_over_the_sealed_seed",
     with_driver(kMock, kCar + "sinks:\n  - {name: events, type: file, path: vault.sealed}\n"),
     false, "which is the sealed seed (vault.file); choose another file"},
    {"two_sinks_on_one_file",
     with_driver(kMock, kCar + "sinks:\n  - {name: a, type: file, path: e.jsonl}\n"
                               "  - {name: b, type: file, path: ./e.jsonl}\n"),
     false, "as sinks[0].path does; give each output a file of its own"},
    {"log_over_the_outbox", with_driver(kMock, kCar + "logging: {file: outbox.db}\n"), false,
     "which is outbox.db; choose another file"},
    {"commit_delay_over_a_second", with_driver(kMock) + "outbox: {commit_delay: 100d}\n", false,
     "outbox.commit_delay: must be at most 1s"},
    {"commit_delay_overflowing",
     with_driver(kMock) + "outbox: {commit_delay: 99999999999999999999999d}\n", false,
     "outbox.commit_delay: duration out of range"},
    {"mqtt_password_without_tls",
     with_driver(kMock, kCar + "sinks:\n  - {name: broker, type: mqtt, port: 9, username: u, "
                               "password: hunter2-secret}\n"),
     false, "sinks[0].password: a password without TLS needs tls: true (or ca_file)"},
    {"mqtt_client_cert_without_tls",
     with_driver(kMock, kCar + "sinks:\n  - {name: broker, type: mqtt, port: 9, "
                               "client_cert: c.pem, client_key: k.pem}\n"),
     false, "sinks[0].client_cert: a client certificate needs TLS"},
    {"secret_file_endless",
     with_driver(kMock, kCar + "sinks:\n  - {name: broker, type: mqtt, port: 9, tls: true, "
                               "password: \"${file:/dev/zero}\"}\n"),
     false, "cannot read file \"/dev/zero\" for \"${file:/dev/zero}\": larger than 4 MiB"},

    // Refused by both: names and references.
    {"duplicate_driver_names",
     kBase + "drivers:\n  - " + kMock + "\n  - {name: mock, library: mock}\n" + kCar + kSink, false,
     R"(drivers[1].name: duplicate driver name "mock")"},
    {"duplicate_connection_ids",
     with_driver(kMock,
                 "connections:\n  - {id: car-1, driver: mock, key_child: 1}\n"
                 "  - {id: car-1, driver: mock, key_child: 2}\n" +
                     kSink),
     false, R"(connections[1].id: duplicate connection id "car-1")"},
    {"duplicate_key_child",
     with_driver(kMock,
                 "connections:\n  - {id: car-1, driver: mock, key_child: 1}\n"
                 "  - {id: car-2, driver: mock, key_child: 1}\n" +
                     kSink),
     false, R"(key_child 1 is already used by connection "car-1")"},
    {"unknown_driver_in_connection",
     with_driver(kMock, "connections:\n  - {id: car-1, driver: mok, key_child: 1}\n" + kSink),
     false, R"(connections[0].driver: unknown driver "mok" (did you mean "mock"?))"},

    // Refused by both: what only the driver library can tell.
    {"stream_mode_for_poll_only_driver",
     with_driver("{name: mock, library: initfail, mode: stream}"), false,
     "drivers[0].mode: mode stream, but driver 'initfail' has no stream (capabilities: poll)"},
    {"driver_stream_mode_for_poll_only_driver",
     with_driver("{name: mock, library: initfail, mode: driver_stream, on_load_error: skip}"),
     false, "drivers[0].mode: mode driver_stream, but driver 'initfail' has no stream"},
    {"unknown_driver_setting", with_driver("{name: mock, library: mock, settings: {sead: 3}}"),
     false, R"(drivers[0].settings.sead: unknown setting "sead" (did you mean "seed"?))"},
    {"unknown_driver_setting_even_when_skippable",
     with_driver("{name: mock, library: mock, on_load_error: skip, settings: {sead: 3}}"), false,
     R"(drivers[0].settings.sead: unknown setting "sead")"},
    {"missing_library_fail",
     with_driver("{name: gone, library: ./nowhere/oemlink-driver-gone.so}",
                 "connections:\n  - {id: car-1, driver: gone, key_child: 1}\n" + kSink),
     false, "drivers[0]: driver library"},
    {"library_of_another_abi", with_driver("{name: mock, library: badabi}"), false,
     "ABI version mismatch"},
};

class CheckConfigAndRun : public CliTest, public ::testing::WithParamInterface<VerdictCase> {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("oemlink-verdict-" + std::to_string(getpid()) + "-" + GetParam().name);
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    // Bare names like "initfail" and "badabi" are the test plugins; "mock" is found next to
    // the executable, as in production.
    env_["OEMLINK_PLUGIN_PATH"] = OEMLINK_TEST_PLUGIN_DIR;
  }
};

TEST_P(CheckConfigAndRun, AgreeOnTheVerdict) {
  const VerdictCase& c = GetParam();
  const fs::path file = write("case.yaml", c.yaml);
  SCOPED_TRACE("configuration:\n" + c.yaml);

  Result check = run({"check-config", file.string()});
  Result daemon = run({"run", "--config", file.string(), "--duration", "1s"});

  if (c.accepted) {
    EXPECT_EQ(check.rc, 0) << check.err;
    EXPECT_EQ(daemon.rc, 0) << daemon.err;
  } else {
    EXPECT_EQ(check.rc, 1) << check.out << check.err;
    EXPECT_EQ(daemon.rc, 1) << daemon.err;
    // Refused before anything was opened: no vault, outbox or key registry was created.
    EXPECT_FALSE(fs::exists(dir_ / "data")) << daemon.err;
  }
  if (*c.problem) {
    EXPECT_HAS(check.err, c.problem);
    EXPECT_HAS(daemon.err, c.problem);
  }
  EXPECT_EQ(check.err.find("hunter2-secret"), std::string::npos) << check.err;
  EXPECT_EQ(daemon.err.find("hunter2-secret"), std::string::npos) << daemon.err;
}

INSTANTIATE_TEST_SUITE_P(config, CheckConfigAndRun, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<VerdictCase>& info) {
                           return std::string(info.param.name);
                         });

}  // namespace
