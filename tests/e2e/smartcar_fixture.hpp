// The real pieces of a Smartcar deployment in a scratch directory: `oemlink-mock-oem smartcar` as
// the Smartcar cloud, `oemlink` with the smartcar driver and an inbound listener, tokens seeded
// with `oemlink secrets set`, webhooks delivered by `oemlink-mock-oem smartcar-send`, and the
// file sink's events read back as readings.
#pragma once

#include "tests/e2e/cli_fixture.hpp"
#include "tests/e2e/inbound_fixture.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace oemlink::testing {

namespace json = boost::json;

inline const fs::path kMockExe = fs::path(OEMLINK_BINARY_DIR) / "oemlink-mock-oem";
inline const fs::path kSmartcarExamples = kSource / "tools/mock-oem/smartcar/examples";

// The mock's built-in cars (tools/mock-oem/smartcar/examples/vehicles.json).
struct SmartcarCar {
  std::string conn, smartcar_id;
  int token = 0;  // vehicle_token_id; synthetic id = 100 + token, key child = token
  std::string poll_interval = "";  // empty: the driver's
};
inline const SmartcarCar kVw{"id4", "a1d50709-3502-4faa-ba43-a5c7565e6a09", 1};  // km, "bar" ≈258
inline const SmartcarCar kJaguar{"ipace", "00000000-0000-4000-8000-0000000000aa", 2};  // kilometers
inline const SmartcarCar kFord{"focus", "7c8e2f3a-1b4d-4e5f-8a9b-0c1d2e3f4a5b", 3};    // true bar

// One signal of one event in the file sink.
struct SinkReading {
  int vehicle_token = 0;  // from the event's subject
  std::string event_id, name, timestamp;
  json::value value;
  double number() const { return value.is_number() ? value.to_number<double>() : -1e300; }
};

class SmartcarE2eTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    // Distinctive values, so a search of logs and files cannot hit anything else.
    std::random_device rd;
    auto hex = [&rd] {
      std::string s;
      for (int i = 0; i < 4; ++i) s += std::to_string(rd());
      return s;
    };
    amt_ = "amt-" + hex() + "-never-logged";
    client_secret_ = "cs-" + hex() + "-never-logged";
    write("secrets/amt", amt_);
    write("secrets/client_secret", client_secret_);
  }
  void TearDown() override {
    for (pid_t* pid : {&daemon_, &mock_})
      if (*pid > 0) {
        kill(*pid, SIGKILL);
        waitpid(*pid, nullptr, 0);
        *pid = -1;
      }
    CliTest::TearDown();
  }

  // ---- the mock Smartcar ------------------------------------------------------------------

  // Starts `oemlink-mock-oem smartcar --port 0` with the test's client credentials; waits for
  // its `listening <port>` line.
  void start_mock(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"smartcar",     "--port",        "0",  "--client-secret",
                                     client_secret_, "--time-format", "ms", "--access-ttl-s",
                                     "3600"};
    args.insert(args.end(), extra.begin(), extra.end());
    fs::remove(dir_ / "mock.out");
    mock_ = spawn(args, kMockExe, "mock");
    for (int i = 0; i < 1000; ++i) {
      std::string out = slurp(dir_ / "mock.out");
      if (auto nl = out.find('\n'); nl != std::string::npos) {
        ASSERT_EQ(out.rfind("listening ", 0), 0u) << out;
        mock_port_ = std::stoi(out.substr(10, nl - 10));
        return;
      }
      int status = 0;
      if (waitpid(mock_, &status, WNOHANG) == mock_) {
        mock_ = -1;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    FAIL() << "the mock Smartcar did not start: " << slurp(dir_ / "mock.err");
  }
  std::string mock_base() const { return "http://127.0.0.1:" + std::to_string(mock_port_); }

  // One request to the mock's control API or /stats; its JSON answer (null when none).
  json::value mock_call(const std::string& method, const std::string& path,
                        const std::string& body = "") {
    net::testing::RawClient c(static_cast<uint16_t>(mock_port_), std::chrono::seconds(10));
    c.send(method + " " + path +
           " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
           "Content-Length: " +
           std::to_string(body.size()) + "\r\n\r\n" + body);
    auto res = c.response();
    if (!res) return nullptr;
    boost::system::error_code ec;
    json::value v = json::parse(res->body(), ec);
    EXPECT_FALSE(ec) << method << " " << path << ": " << res->body();
    EXPECT_LT(res->result_int(), 300) << method << " " << path << ": " << res->body();
    return ec ? json::value() : v;
  }
  json::object mock_stats() {
    json::value v = mock_call("GET", "/stats");
    return v.is_object() ? v.get_object() : json::object{};
  }
  // Requests the mock served for `car`'s signals (any status).
  static uint64_t signal_requests(const json::object& stats, const SmartcarCar& car) {
    auto* vehicles = stats.if_contains("vehicles");
    auto* v = vehicles && vehicles->is_object()
                  ? vehicles->get_object().if_contains(car.smartcar_id)
                  : nullptr;
    if (!v) return 0;
    auto* n =
        v->get_object().at("by_endpoint").get_object().if_contains("GET /v3/vehicles/{id}/signals");
    return n ? n->to_number<uint64_t>() : 0;
  }
  // Every vehicle request the mock served for `car`, in order, on the mock's clock.
  struct Served {
    int64_t at_ms = 0;
    std::string route;
    unsigned status = 0;
  };
  std::vector<Served> served(const SmartcarCar& car) {
    std::vector<Served> out;
    json::value v = mock_call("GET", "/mock/vehicles/" + car.smartcar_id + "/requests");
    if (!v.is_object()) return out;
    for (const json::value& r : v.at("requests").as_array())
      out.push_back({r.at("at_ms").to_number<int64_t>(), std::string(r.at("route").as_string()),
                     r.at("status").to_number<unsigned>()});
    return out;
  }
  // Answers with `status` the mock gave to a route, e.g. ("POST /oauth/token", "200").
  static uint64_t answers(const json::object& stats, const std::string& route,
                          const std::string& status) {
    auto* r = stats.at("requests").get_object().if_contains(route);
    auto* n = r ? r->get_object().if_contains(status) : nullptr;
    return n ? n->to_number<uint64_t>() : 0;
  }
  static uint64_t token_stat(const json::object& stats, const char* key) {
    return stats.at("tokens").get_object().at(key).to_number<uint64_t>();
  }

  // ---- oemlink -----------------------------------------------------------------------------

  // A config with the smartcar driver against the mock, `cars`, an inbound listener and a file
  // sink. `settings` and `listener` are extra flow-mapping entries (", key: value").
  fs::path config(const std::vector<SmartcarCar>& cars, const std::string& level = "debug",
                  const std::string& settings = "", const std::string& listener = "",
                  const std::string& top = "", const std::string& poll_interval = "1s") {
    if (!listener_port_) listener_port_ = free_port();
    const std::string port = std::to_string(listener_port_);
    std::string y =
        "data_dir: data\n"
        "logging: {level: " +
        level +
        "}\n"
        "schedule: {shutdown_timeout: 3s}\n"
        "vault: {create_if_missing: true, kek: {file: kek.hex}}\n"
        "http: {allow_plain_http: true}\n" +
        top +
        "listeners:\n"
        "  inbound: {port: " +
        port + ", public_url: \"http://127.0.0.1:" + port + "\"" + listener +
        "}\n"
        "drivers:\n"
        "  - name: smartcar\n"
        "    library: smartcar\n"
        "    poll_interval: " +
        poll_interval +
        "\n"
        "    asleep_interval: 2s\n"
        "    settings: {client_id: mock-client-id, client_secret: "
        "\"${file:secrets/client_secret}\", amt: \"${file:secrets/amt}\", "
        "auth_base_url: \"" +
        mock_base() + "\", api_base_url: \"" + mock_base() +
        "/v3\", request_timeout: 5s, request_budget_capacity: 1000" + settings +
        "}\n"
        "connections:\n";
    for (const SmartcarCar& c : cars)
      y += "  - {id: " + c.conn +
           ", driver: smartcar, vehicle_token_id: " + std::to_string(c.token) +
           ", synthetic_token_id: " + std::to_string(100 + c.token) +
           ", key_child: " + std::to_string(c.token) + ", identifiers: {smartcar_id: \"" +
           c.smartcar_id + "\"}" +
           (c.poll_interval.empty() ? "" : ", poll_interval: " + c.poll_interval) + "}\n";
    y += "sinks:\n" +
         (sinks_.empty() ? "  - {name: events, type: file, path: events.jsonl}\n" : sinks_);
    cfg_ = write("oemlink.yaml", y);
    return cfg_;
  }

  // The car's first refresh token: known to the mock (naming the car), stored by the operator's
  // command. Returns the token.
  std::string seed(const SmartcarCar& car) {
    const std::string token = "rt-seed-" + car.conn + "-" + amt_.substr(4, 12);
    mock_call(
        "POST", "/mock/tokens",
        json::serialize(json::object{{"refresh_token", token}, {"vehicle", car.smartcar_id}}));
    write("seed-" + car.conn + ".txt", token + "\n");
    Result r = run({"secrets", "set", car.conn, "refresh_token", "--file",
                    (dir_ / ("seed-" + car.conn + ".txt")).string(), "--config", cfg_.string()});
    EXPECT_EQ(r.rc, 0) << r.err;
    fs::remove(dir_ / ("seed-" + car.conn + ".txt"));
    return token;
  }

  void start_daemon(const std::string& name = "daemon") {
    daemon_ = spawn({"run", "--config", cfg_.string()}, kExe, name);
    ASSERT_TRUE(wait_for_listener(listener_port_, daemon_)) << slurp(dir_ / (name + ".err"));
  }
  Result stop_daemon(const std::string& name = "daemon", int sig = SIGTERM) {
    kill(daemon_, sig);
    Result r = wait_for(daemon_, name);
    daemon_ = -1;
    return r;
  }
  std::string log(const std::string& name = "daemon") { return slurp(dir_ / (name + ".err")); }
  std::string status() { return slurp(dir_ / "data/status.json"); }
  // A counter of the final (or latest) status.json; 0 when it was never counted.
  long counter(std::string_view name, const MetricLabels& match = {}) {
    return std::max(0L, status_metric(status(), name, match));
  }

  // ---- smartcar-send -----------------------------------------------------------------------

  std::string webhook_url() const {
    return "http://127.0.0.1:" + std::to_string(listener_port_) + "/webhooks/smartcar";
  }
  // Runs `oemlink-mock-oem smartcar-send` against the listener (no retries unless `extra` asks).
  Result send(const fs::path& payload, std::vector<std::string> extra = {}) {
    static int n = 0;
    const std::string name = "send-" + std::to_string(++n);
    std::vector<std::string> args = {"smartcar-send", "--url", webhook_url(), "--amt-file",
                                     (dir_ / "secrets/amt").string()};
    if (std::find(extra.begin(), extra.end(), "--retry-delays-ms") == extra.end())
      extra.insert(extra.end(), {"--retry-delays-ms", ""});
    args.insert(args.end(), extra.begin(), extra.end());
    args.push_back(payload.string());
    return wait_for(spawn(args, kMockExe, name), name);
  }
  // An example payload with its JSON changed by `edit` (e.g. another eventId or value).
  fs::path example(const std::string& file, const std::function<void(json::object&)>& edit = {}) {
    json::value v = json::parse(slurp(kSmartcarExamples / file));
    if (edit) edit(v.as_object());
    return write("payloads/" + std::to_string(++payloads_) + "-" + file, json::serialize(v));
  }

  // ---- the file sink -----------------------------------------------------------------------

  std::vector<SinkReading> readings() {
    std::vector<SinkReading> out;
    std::ifstream in(dir_ / "data/events.jsonl");
    for (std::string line; std::getline(in, line);) {
      boost::system::error_code ec;
      json::value ev = json::parse(line, ec);
      if (ec || !ev.is_object()) continue;
      const std::string subject(ev.at("subject").as_string());
      const int token = std::stoi(subject.substr(subject.rfind(':') + 1));
      const json::value& data = ev.at("data");
      if (!data.is_object() || !data.as_object().contains("signals")) continue;
      for (const json::value& s : data.at("signals").as_array())
        out.push_back({token, std::string(ev.at("id").as_string()),
                       std::string(s.at("name").as_string()),
                       std::string(s.at("timestamp").as_string()), s.at("value")});
    }
    return out;
  }
  std::vector<SinkReading> readings_of(const SmartcarCar& car, const std::string& name) {
    std::vector<SinkReading> out;
    for (auto& r : readings())
      if (r.vehicle_token == car.token && r.name == name) out.push_back(r);
    return out;
  }
  // For failure messages.
  static std::string describe(const std::vector<SinkReading>& rs) {
    std::string out;
    for (auto& r : rs)
      out += "car " + std::to_string(r.vehicle_token) + " " + r.name + " = " +
             json::serialize(r.value) + " at " + r.timestamp + "\n";
    return out;
  }
  // Events (ids) holding a reading of `name` equal to `value`.
  std::set<std::string> events_with(const std::string& name, double value) {
    std::set<std::string> ids;
    for (auto& r : readings())
      if (r.name == name && r.value.is_number() && std::abs(r.number() - value) < 1e-9)
        ids.insert(r.event_id);
    return ids;
  }

  // Polls `pred` every 50 ms until it holds or `limit` passes.
  static bool eventually(const std::function<bool()>& pred,
                         std::chrono::milliseconds limit = std::chrono::seconds(15)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!pred()) {
      if (std::chrono::steady_clock::now() > deadline) return pred();
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return true;
  }

  std::string amt_, client_secret_;
  fs::path cfg_;
  pid_t daemon_ = -1, mock_ = -1;
  int mock_port_ = 0;
  uint16_t listener_port_ = 0;
  int payloads_ = 0;
  std::string sinks_;  // YAML list items replacing the file sink; empty: the file sink
};

}  // namespace oemlink::testing
