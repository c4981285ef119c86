// The Tesla driver end to end with the real pieces: the `oemlink` executable loading
// oemlink-driver-tesla.so, `oemlink-mock-oem tesla` as a subprocess (tests/tools/mock_tesla's
// MockTesla: the three shared captures as DIR/<VIN>.json, the `listening <port>` line, /stats),
// tokens seeded with `oemlink secrets set`, and what the driver stored read back in-process
// through SecretAccess, as secret_get would.
#pragma once

#include "tests/e2e/cli_fixture.hpp"
#include "tests/e2e/status_metric.hpp"
#include "tests/tools/mock_tesla/mock_tesla_process.hpp"

#include <boost/json.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <thread>

namespace oemlink::testing {

namespace json = boost::json;
using mock_oem::testing::HttpAnswer;
using mock_oem::testing::MockTesla;

// A car of the mock (one per shared capture) as a connection of the config.
struct TeslaCar {
  std::string id;        // connection id
  std::string vin;       // the capture's file name in the mock
  std::string tesla_id;  // the capture's response.id
  int key_child = 0;
};
const TeslaCar& car_s85();     // HTLC capture: outside_temp 19.5, odometer 104374.713449 mi
const TeslaCar& car_s60();     // BitcoinLightning capture: odometer 169816.533912 mi
const TeslaCar& car_model3();  // gak capture: tyres in bar, odometer 11643.048901 mi

struct TeslaRun {
  std::string mode = "poll";
  std::string poll_interval = "300ms";
  std::string fleet_base;  // empty: the mock's /na host
  std::string account = "alice";
  std::vector<TeslaCar> cars;
  std::string log_level = "trace";
  // Extra driver settings as YAML flow-mapping members, e.g. "token_refresh_margin: 0s".
  std::vector<std::string> settings;
  std::string isolation = "in_process";  // or "process": the driver in its own process
};

class TeslaE2eTest : public CliTest {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Starts the mock with `args` after `tesla --port 0 --captures DIR`; fails the test if it
  // does not print its port.
  void start_mock(std::vector<std::string> args);
  std::string mock_base() const {
    return mock_port_ ? "http://127.0.0.1:" + std::to_string(mock_port_) : mock_->base();
  }
  HttpAnswer mock_post(const std::string& path, const std::string& body);
  json::object stats();
  // Requests the mock counted for `endpoint` (as in /stats by_endpoint), for one status or all.
  static uint64_t requests(const json::object& stats, const std::string& endpoint,
                           const std::string& status = "");
  // GET /mock/tokens: every token issued or seeded, in order.
  std::vector<json::object> issued_tokens();

  fs::path write_config(const TeslaRun& run);
  // `oemlink secrets set CONN refresh_token --file F`, as an operator seeds a car.
  void seed(const fs::path& cfg, const std::string& conn, const std::string& refresh_token);
  // What the driver serving `conn` reads through secret_get (nullopt: not stored).
  std::optional<std::string> stored(const fs::path& cfg, const std::string& conn,
                                    const std::string& key);

  // `oemlink run --config cfg` in the background; its output goes to oemlink-<n>.out/.err.
  void start_oemlink(const fs::path& cfg);
  int stop_oemlink();   // SIGTERM; the exit status
  void kill_oemlink();  // SIGKILL, as a crash
  bool oemlink_running() const { return oemlink_ > 0; }
  // Everything every oemlink process of this test wrote (stdout and stderr).
  std::string oemlink_logs() const;
  // The current run's log only.
  std::string current_log() const;

  // data/events.jsonl, one object per complete line.
  std::vector<json::object> events() const;
  // data/status.json's counters (empty until written).
  json::object counters() const;
  // The sum of a metric family's series in status.json whose labels include `match`; 0 when none.
  uint64_t metric(std::string_view name, const MetricLabels& match = {}) const {
    return static_cast<uint64_t>(
        std::max(0L, status_metric(slurp(dir_ / "data/status.json"), name, match)));
  }
  static uint64_t number(const json::object& o, const std::string& key);

  // Polls `pred` every 50 ms until it holds or `limit` passes.
  template <class Pred>
  bool eventually(Pred pred, std::chrono::milliseconds limit = std::chrono::seconds(30)) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      if (pred()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return pred();
  }

  // No access or refresh token the mock ever issued appears in any oemlink log nor in any file
  // of the data dir outside the encrypted secret store.
  void expect_no_token_leaks();

  std::unique_ptr<MockTesla> mock_;
  // Set to write a config before the mock runs (it is then started with `--port` this port).
  int mock_port_ = 0;
  pid_t oemlink_ = -1;
  int runs_ = 0;
};

// The readings of `events` for `vin`, by DIMO signal name: the last value of each.
std::map<std::string, json::value> last_values(const std::vector<json::object>& events,
                                               const std::string& vin);

}  // namespace oemlink::testing
