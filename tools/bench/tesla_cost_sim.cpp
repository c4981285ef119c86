// oemlink-tesla-cost-sim: what the Tesla driver's default policy costs per car-month, from the
// mock Tesla's billing counters over simulated days (issue 12, section 8; BENCHMARKS.md).
//
//   oemlink-tesla-cost-sim [--cars N] [--baseline-cars M] [--days D] [--time-scale X]
//                          [--poll-interval 5m] [--sim-start HH:MM] [--mock PATH] [--driver PATH]
//                          [--captures DIR] [--keep DIR]
//
// Runs the real driver module (oemlink-driver-tesla.so) in process on the SDK test kit's
// FakeHost, with a VIRTUAL clock kept equal to the mock's simulated time. Two driver instances:
//  - "policy": N cars with the driver's default settings, the stream (a real mosquitto the mock
//    publishes to in --mqtt mode) and the telemetry config enabled (so the mock's simulation
//    honours the posted fields, intervals and minimum_delta; the mock checks the JWS against the
//    partner public key);
//  - "baseline": M cars polled without a stream (the driver's plain poll mode, default settings).
// Each car is its own account (one car per owner: the worst case for per-account calls). Every
// car is polled every --poll-interval of simulated time, whatever its state (a stricter upper
// bound than the host, which polls sleeping cars every asleep_interval). The driver's HTTP goes
// to `oemlink-mock-oem tesla` over blocking libcurl. At the end /stats is read and each group's
// dollars (its cars' + their accounts' + the partner's) are extrapolated to 30 days.
#include "tools/bench/tesla_sim_mqtt.hpp"
#include "tools/bench/tesla_sim_processes.hpp"

#include <oemlink/testkit/driver_harness.hpp>

#include <boost/json.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace oemlink;
using namespace oemlink::bench;
namespace fs = std::filesystem;
namespace json = boost::json;
using Clock = std::chrono::steady_clock;

struct Args {
  int cars = 20;
  int baseline_cars = 10;
  double days = 3;
  double time_scale = 1440;  // a simulated day per real minute
  int64_t poll_interval_ms = 300'000;
  std::string sim_start = "12:00";
  std::string mock = OEMLINK_MOCK_OEM_BINARY;
  std::string driver = OEMLINK_TESLA_DRIVER;
  std::string captures = OEMLINK_TESLA_FIXTURES;
  std::string keep;
};

int64_t parse_duration_ms(const std::string& v) {
  const double n = std::stod(v);
  switch (v.back()) {
    case 's':
      return int64_t(n * 1000);
    case 'm':
      return int64_t(n * 60'000);
    case 'h':
      return int64_t(n * 3'600'000);
    default:
      throw std::invalid_argument("--poll-interval: use s, m or h, as in 5m");
  }
}

Args parse_args(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    if (i + 1 >= argc) throw std::invalid_argument(k + " needs a value");
    const std::string v = argv[++i];
    if (k == "--cars")
      a.cars = std::stoi(v);
    else if (k == "--baseline-cars")
      a.baseline_cars = std::stoi(v);
    else if (k == "--days")
      a.days = std::stod(v);
    else if (k == "--time-scale")
      a.time_scale = std::stod(v);
    else if (k == "--poll-interval")
      a.poll_interval_ms = parse_duration_ms(v);
    else if (k == "--sim-start")
      a.sim_start = v;
    else if (k == "--mock")
      a.mock = v;
    else if (k == "--driver")
      a.driver = v;
    else if (k == "--captures")
      a.captures = v;
    else if (k == "--keep")
      a.keep = v;
    else
      throw std::invalid_argument("unknown option " + k);
  }
  if (a.cars < 1 || a.baseline_cars < 0 || a.days <= 0 || a.time_scale <= 0)
    throw std::invalid_argument("--cars >= 1, --baseline-cars >= 0, --days and --time-scale > 0");
  return a;
}

std::string vin_of(int n) {
  char vin[32];
  std::snprintf(vin, sizeof vin, "5YJ3SYNTH%08d", n);
  return vin;
}

// The mock's simulated clock, as seen from here: sim = start + (real + c) * scale, where c (the
// mock's head start) is learnt from /stats `simulated_seconds`, which lags by up to one tick, so
// the largest estimate is the best.
class SimClock {
 public:
  SimClock(double sim_start_s, double scale) : start_s_(sim_start_s), scale_(scale) {}
  void observe(double simulated_seconds) {
    const double c = simulated_seconds / scale_ - real_s();
    if (!known_ || c > c_) c_ = c;
    known_ = true;
  }
  bool known() const { return known_; }
  int64_t now_ms() const { return int64_t((start_s_ + (real_s() + c_) * scale_) * 1000); }
  double elapsed_sim_s() const { return (real_s() + c_) * scale_; }

 private:
  double real_s() const { return std::chrono::duration<double>(Clock::now() - t0_).count(); }
  Clock::time_point t0_ = Clock::now();
  double start_s_, scale_;
  double c_ = 0;
  bool known_ = false;
};

struct Car {
  int n;
  std::string vin, account;
  oemlink_conn* conn = nullptr;
  int64_t next_poll_ms = 0;
  uint64_t polls = 0;
};

struct Group {
  std::string name;
  std::unique_ptr<testkit::DriverUnderTest> driver;
  std::vector<Car> cars;
  size_t answered = 0;  // requests of driver->host forwarded so far
  uint64_t http = 0;
};

// Forwards every request the driver started until none is waiting (answers start new ones).
void pump_http(Group& g) {
  testkit::FakeHost& h = g.driver->host;
  while (h.pending_http() > 0) {
    while (g.answered < h.requests.size()) {
      h.script_http(forward_http(h.requests[g.answered]));
      ++g.answered;
      ++g.http;
    }
    h.deliver_http();
  }
}

void open_cars(Group& g, int first, int count) {
  for (int i = 0; i < count; ++i) {
    Car c;
    c.n = first + i;
    c.vin = vin_of(c.n);
    c.account = "acct" + std::to_string(c.n);
    testkit::ConnSpec spec;
    spec.id = g.name + "-" + std::to_string(c.n);
    spec.vin = c.vin;
    spec.identifiers_json = R"({"tesla_id":")" + std::to_string(100000000000ull + uint64_t(c.n)) +
                            R"(","account":")" + c.account + "\"}";
    c.conn = g.driver->open(spec);
    if (!c.conn) throw std::runtime_error("open " + spec.id + ": " + g.driver->open_error());
    g.driver->host.secrets[{c.conn, "refresh_token"}] = "seed-" + c.account;
    g.cars.push_back(std::move(c));
  }
}

struct Cost {
  double dollars = 0;
  double data = 0, commands = 0, wakes = 0, signals = 0;
};

void add(Cost& c, const json::object& o) {
  auto num = [&](const char* k) {
    auto* v = o.if_contains(k);
    return v && v->is_number() ? v->to_number<double>() : 0.0;
  };
  c.dollars += num("dollars");
  c.data += num("data");
  c.commands += num("commands");
  c.wakes += num("wakes");
  c.signals += num("signals");
}

Cost group_cost(const Group& g, const json::object& stats, bool with_partner) {
  Cost c;
  const auto& cars = stats.at("cars").as_object();
  const auto& accounts = stats.at("accounts").as_object();
  for (const Car& car : g.cars) {
    if (auto* v = cars.if_contains(car.vin)) add(c, v->as_object());
    if (auto* v = accounts.if_contains(car.account)) add(c, v->as_object());
  }
  if (with_partner)
    if (auto* v = accounts.if_contains("partner")) add(c, v->as_object());
  return c;
}

Cost minus(Cost a, const Cost& b) {
  a.dollars -= b.dollars;
  a.data -= b.data;
  a.commands -= b.commands;
  a.wakes -= b.wakes;
  a.signals -= b.signals;
  return a;
}

void print_cost(const Group& g, const Cost& c, double sim_s, const std::string& span) {
  const double n = double(g.cars.size());
  const double month = 30 * 86400 / sim_s;
  std::printf(
      "  %s, per car over %.2f simulated days: data %.1f, commands %.1f, wakes %.1f, "
      "signals %.0f -> $%.4f\n",
      span.c_str(), sim_s / 86400, c.data / n, c.commands / n, c.wakes / n, c.signals / n,
      c.dollars / n);
  std::printf(
      "    per car-month (x %.2f): data %.0f ($%.3f), commands %.0f ($%.3f), wakes %.0f, "
      "signals %.0f ($%.3f) -> $%.3f\n",
      month, c.data / n * month, c.data / n * month / 500, c.commands / n * month,
      c.commands / n * month / 1000, c.wakes / n * month, c.signals / n * month,
      c.signals / n * month / 150000, c.dollars / n * month);
}

// The whole run (start-up included, extrapolated: an upper bound) and the run after its first
// simulated day (the steady state of a daemon that runs for the month).
void print_group(const Group& g, const Cost& whole, const Cost& first_day, double sim_s,
                 const std::string& what) {
  std::printf("%s (%zu cars): %s\n", g.name.c_str(), g.cars.size(), what.c_str());
  print_cost(g, whole, sim_s, "whole run");
  if (sim_s > 86400 * 1.5) print_cost(g, minus(whole, first_day), sim_s - 86400, "after day 1");
}

std::string settings_json(const std::string& base, const std::string& extra) {
  return R"({"client_id":"mock-client-id","client_secret":"mock-client-secret","auth_base_url":")" +
         base + R"(","fleet_api_base_url":")" + base + "\"" + extra + "}";
}

int run(const Args& a) {
  const fs::path dir =
      a.keep.empty() ? fs::temp_directory_path() / ("tesla-cost-sim-" + std::to_string(getpid()))
                     : fs::path(a.keep);
  fs::create_directories(dir / "captures");
  int k = 0;
  for (const auto& e : fs::directory_iterator(a.captures))
    if (e.path().filename().string().rfind("vehicle_data_", 0) == 0)
      fs::copy_file(e.path(), dir / "captures" / (vin_of(90000000 + k++) + ".json"),
                    fs::copy_options::overwrite_existing);
  if (k == 0) throw std::runtime_error(a.captures + " holds no vehicle_data_*.json capture");
  write_p256_key_pair(dir / "partner.pem", dir / "partner.pub.pem");
  std::ofstream(dir / "ca.pem")
      << "-----BEGIN CERTIFICATE-----\nMIIBsim\n-----END CERTIFICATE-----\n";

  const int broker_port = free_port();
  auto broker = start_mosquitto(dir, broker_port);
  const int total = a.cars + a.baseline_cars;
  std::vector<std::string> argv{a.mock,
                                "tesla",
                                "--port",
                                "0",
                                "--captures",
                                (dir / "captures").string(),
                                "--synthesize",
                                std::to_string(total),
                                "--mqtt",
                                "127.0.0.1:" + std::to_string(broker_port),
                                "--mqtt-interval-ms",
                                "100",
                                "--time-scale",
                                std::to_string(a.time_scale),
                                "--sim-start",
                                a.sim_start,
                                "--stream-only-configured",
                                "--partner-public-key",
                                (dir / "partner.pub.pem").string(),
                                "--config-sync-ms",
                                "1000"};
  for (int n = 0; n < total; ++n) {
    const std::string acct = "acct" + std::to_string(n);
    argv.insert(argv.end(), {"--accept-refresh-token", "seed-" + acct + "@" + acct,
                             "--account-vins", acct + "=" + vin_of(n)});
  }
  std::string listening;
  ChildProcess mock(argv, &listening);
  if (listening.rfind("listening ", 0) != 0)
    throw std::runtime_error("the mock did not start: '" + listening + "'");
  const int port = std::stoi(listening.substr(10));
  const std::string base = "http://127.0.0.1:" + std::to_string(port);

  const int hh = std::stoi(a.sim_start.substr(0, 2)), mm = std::stoi(a.sim_start.substr(3, 2));
  const double today = std::floor(double(std::time(nullptr)) / 86400) * 86400;
  SimClock clock(today + hh * 3600 + mm * 60, a.time_scale);
  auto calibrate = [&]() -> json::object {
    const std::string body = http_get(port, "/stats");
    if (body.empty()) throw std::runtime_error("GET /stats failed");
    json::object s = json::parse(body).as_object();
    const double sim = s.at("simulated_seconds").to_number<double>();
    if (sim > 0) clock.observe(sim);
    return s;
  };
  while (!clock.known()) {
    calibrate();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  for (int i = 0; i < 5; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    calibrate();
  }

  std::string error;
  const oemlink_driver* desc = testkit::load_driver(a.driver, &error);
  if (!desc) throw std::runtime_error(error);
  MqttBridge bridge;
  Group policy{"policy", nullptr, {}, 0, 0};
  policy.driver = std::make_unique<testkit::DriverUnderTest>(
      desc,
      settings_json(base, R"(,"stream_broker_host":"127.0.0.1","stream_broker_port":)" +
                              std::to_string(broker_port) +
                              R"(,"telemetry_config_enabled":true,"telemetry_hostname":)"
                              R"("ft.example.com","telemetry_ca_file":")" +
                              (dir / "ca.pem").string() + R"(","telemetry_partner_key_file":")" +
                              (dir / "partner.pem").string() + "\""));
  if (!policy.driver->created()) throw std::runtime_error(policy.driver->create_error());
  policy.driver->host.record_emits = false;
  policy.driver->host.services[OEMLINK_SERVICE_MQTT] = bridge.table();
  Group baseline{"baseline", nullptr, {}, 0, 0};
  baseline.driver = std::make_unique<testkit::DriverUnderTest>(desc, settings_json(base, ""));
  if (!baseline.driver->created()) throw std::runtime_error(baseline.driver->create_error());
  baseline.driver->host.record_emits = false;
  for (Group* g : {&policy, &baseline}) g->driver->host.now_ms = clock.now_ms();
  open_cars(policy, 0, a.cars);
  open_cars(baseline, a.cars, a.baseline_cars);
  // Spread each group's first polls over one interval, as the host's jitter does.
  for (Group* g : {&policy, &baseline})
    for (size_t i = 0; i < g->cars.size(); ++i)
      g->cars[i].next_poll_ms =
          clock.now_ms() + int64_t(double(a.poll_interval_ms) * double(i) / double(g->cars.size()));
  testkit::Completion stream_ended;
  desc->stream_start(policy.driver->instance(), nullptr, nullptr, &testkit::Completion::record,
                     &stream_ended);

  // Billing from here on: what was spent before the drivers started is not theirs.
  {
    testkit::RecordedRequest r;
    r.method = "POST";
    r.url = base + "/mock/reset-stats";
    forward_http(r);
  }
  const double sim_at_reset = clock.elapsed_sim_s();
  const double end_s = sim_at_reset + a.days * 86400;
  auto last_calibration = Clock::now();
  uint64_t streamed = 0;
  double next_report = sim_at_reset + 86400;
  Cost policy_day1, baseline_day1;
  while (clock.elapsed_sim_s() < end_s) {
    const int64_t now = clock.now_ms();
    for (Group* g : {&policy, &baseline}) {
      testkit::FakeHost& h = g->driver->host;
      if (now > h.now_ms) h.now_ms = now;
    }
    streamed += bridge.deliver([&] {
      const int64_t t = clock.now_ms();
      if (t > policy.driver->host.now_ms) policy.driver->host.now_ms = t;
    });
    for (Group* g : {&policy, &baseline}) {
      g->driver->host.run_timers(0);
      pump_http(*g);
      for (Car& c : g->cars) {
        if (c.next_poll_ms > g->driver->host.now_ms) continue;
        c.next_poll_ms += a.poll_interval_ms;
        ++c.polls;
        g->driver->poll(c.conn);
        pump_http(*g);
      }
    }
    if (Clock::now() - last_calibration > std::chrono::seconds(1)) {
      calibrate();
      last_calibration = Clock::now();
    }
    if (clock.elapsed_sim_s() >= next_report) {
      if (next_report == sim_at_reset + 86400) {  // the first day's end, to a loop turn
        const json::object day1 = calibrate();
        policy_day1 = group_cost(policy, day1, true);
        baseline_day1 = group_cost(baseline, day1, false);
      }
      std::fprintf(stderr, "day %.0f: %llu stream messages, http policy %llu baseline %llu\n",
                   (next_report - sim_at_reset) / 86400, (unsigned long long)streamed,
                   (unsigned long long)policy.http, (unsigned long long)baseline.http);
      next_report += 86400;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  const json::object stats = calibrate();
  const double sim_s = clock.elapsed_sim_s() - sim_at_reset;
  desc->stream_stop(policy.driver->instance(), nullptr, nullptr);

  std::printf(
      "tesla cost simulation: %d + %d cars, %.2f simulated days at time scale %.0f, "
      "poll every %llds of simulated time\n",
      a.cars, a.baseline_cars, sim_s / 86400, a.time_scale, (long long)(a.poll_interval_ms / 1000));
  print_group(policy, group_cost(policy, stats, true), policy_day1, sim_s,
              "default settings, stream + telemetry config");
  if (a.baseline_cars > 0)
    print_group(baseline, group_cost(baseline, stats, false), baseline_day1, sim_s,
                "plain polling (no stream), default settings");
  std::printf("  stream messages delivered to the driver: %llu\n", (unsigned long long)streamed);
  for (Group* g : {&policy, &baseline}) {
    std::printf("%s driver counters:", g->name.c_str());
    for (const auto& [name, v] : g->driver->host.counters)
      if (name.rfind("billed_", 0) == 0 || name.rfind("polls_", 0) == 0 ||
          name.rfind("stream_asleep", 0) == 0 || name == "stream_silent_online" ||
          name == "stream_fallback_polls" || name == "stream_events" ||
          name == "telemetry_config_posts" || name == "telemetry_config_in_line")
        std::printf(" %s=%llu", name.c_str(), (unsigned long long)v);
    std::printf("\n");
  }
  std::printf("mock /stats by endpoint: %s\n",
              json::serialize(stats.at("requests").as_object().at("by_endpoint")).c_str());
  if (a.keep.empty()) fs::remove_all(dir);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(parse_args(argc, argv));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "oemlink-tesla-cost-sim: %s\n", e.what());
    return 1;
  }
}
