// A stepped wall clock, end to end: the real `oemlink run` with the mock driver under libfaketime
// (FAKETIME_DONT_FAKE_MONOTONIC=1: the wall clock steps, the steady clock does not, as with
// NTP), delivering to the reference ingest server, which is NOT under faketime: its Date headers
// and its 5-minute future rule (400) speak true time.
//
// Checked: polls keep their rhythm across steps of -1 h and +1 h; no reading is rejected; the
// events made in each phase are stamped by true time (neither an hour ahead nor standing still);
// no event reaches the ingest more than 5 minutes ahead of true time (it would answer 400); events
// stamped while the clock was ahead and nothing was known of it are held, then all delivered (ids
// counted); a connection's event times never decrease (in the order the ingest accepted them);
// the skew shows in oemlink_clock_skew_seconds and in /readyz (check "clock").
#include "tests/e2e/cli_fixture.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iterator>
#include <map>
#include <set>
#include <thread>

namespace {

using namespace oemlink::testing;
using namespace std::chrono_literals;

const fs::path kIngest = fs::path(OEMLINK_BINARY_DIR) / "oemlink-ingest-sink";
constexpr int kCars = 5;
constexpr double kPollsPerSecond = kCars / 1.0;  // poll_interval 1s

// libfaketime's preload library, as Debian's package installs it.
std::string faketime_library() {
  std::string out;
  if (FILE* p = popen("dpkg -L libfaketime 2>/dev/null", "r")) {
    char buf[512];
    while (fgets(buf, sizeof buf, p)) out += buf;
    pclose(p);
  }
  std::string plain;
  for (size_t at = 0; at < out.size();) {
    size_t nl = out.find('\n', at);
    std::string line = out.substr(at, nl - at);
    at = nl == std::string::npos ? out.size() : nl + 1;
    if (line.ends_with("/libfaketimeMT.so.1")) return line;  // the thread-safe build
    if (line.ends_with("/libfaketime.so.1")) plain = line;
  }
  return plain;
}

uint16_t free_port() {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor a(
      io, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  return a.local_endpoint().port();
}

std::string command_output(const std::string& cmd) {
  std::string out;
  if (FILE* p = popen(cmd.c_str(), "r")) {
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    pclose(p);
  }
  return out;
}

// The value of an unlabelled series, or the sum of a family's series, in a Prometheus text
// exposition; -1e18 when absent.
double metric(const std::string& exposition, const std::string& family,
              const std::string& label_filter = "") {
  double sum = 0;
  bool found = false;
  size_t at = 0;
  while (at < exposition.size()) {
    size_t nl = exposition.find('\n', at);
    std::string line = exposition.substr(at, nl - at);
    at = nl == std::string::npos ? exposition.size() : nl + 1;
    if (line.empty() || line[0] == '#') continue;
    if (line.rfind(family, 0) != 0) continue;
    char next = line.size() > family.size() ? line[family.size()] : ' ';
    if (next != ' ' && next != '{') continue;
    if (!label_filter.empty() && line.find(label_filter) == std::string::npos) continue;
    sum += std::stod(line.substr(line.rfind(' ') + 1));
    found = true;
  }
  return found ? sum : -1e18;
}

int64_t real_unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// "2026-12-02T11:40:00.123Z" → Unix ms.
int64_t rfc3339_ms(std::string_view t) {
  std::tm tm{};
  strptime(std::string(t.substr(0, 19)).c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  int64_t ms = 0;
  if (t.size() > 20 && t[19] == '.') ms = std::stoi(std::string(t.substr(20, 3)));
  return static_cast<int64_t>(timegm(&tm)) * 1000 + ms;
}

struct Delivered {
  std::vector<std::string> ids;
  std::vector<int64_t> times_in_order;  // of every event, in file order
  // Per subject, event times in the order the ingest accepted them.
  std::map<std::string, std::vector<int64_t>> times;
  int64_t max_time_ms = 0;
};

Delivered read_events(const fs::path& jsonl) {
  Delivered d;
  std::ifstream in(jsonl);
  for (std::string line; std::getline(in, line);) {
    boost::system::error_code ec;
    auto v = boost::json::parse(line, ec);
    if (ec || !v.is_object()) continue;
    const auto& o = v.as_object();
    d.ids.emplace_back(o.at("id").as_string());
    const int64_t t = rfc3339_ms(o.at("time").as_string());
    d.times_in_order.push_back(t);
    d.times[std::string(o.at("subject").as_string())].push_back(t);
    d.max_time_ms = std::max(d.max_time_ms, t);
  }
  return d;
}

class ClockStepTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
#if defined(__SANITIZE_ADDRESS__)
    // libfaketime is an LD_PRELOAD ahead of the ASan runtime, which ASan does not support (as in
    // doctor_test's clock case); the default preset runs these in full.
    GTEST_SKIP() << "faketime's LD_PRELOAD cannot precede the ASan runtime";
#endif
    faketime_ = faketime_library();
    ASSERT_FALSE(faketime_.empty())
        << "libfaketime is not installed (Debian package faketime; tools/install-deps.sh)";
    std::string cmd = "bash '" + (kSource / "tools/make-test-pki.sh").string() + "' '" +
                      (dir_ / "pki").string() + "' >/dev/null 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
  }
  void TearDown() override {
    for (pid_t* pid : {&daemon_, &ingest_}) {
      if (*pid <= 0) continue;
      kill(*pid, SIGTERM);
      waitpid(*pid, nullptr, 0);
    }
    if (HasFailure()) {
      std::string err = slurp(dir_ / "daemon.err");
      std::cerr << "daemon.err (last 6000 bytes):\n"
                << err.substr(err.size() > 6000 ? err.size() - 6000 : 0) << "\n";
    }
    CliTest::TearDown();
  }

  int start_ingest() {
    ingest_ = spawn({"--cert", "pki/server.crt", "--key", "pki/server.key", "--ca", "pki/ca.crt",
                     "--listen", "127.0.0.1:0", "--store", "ingest.jsonl"},
                    kIngest, "ingest");
    for (int i = 0; i < 500; ++i) {
      std::string out = slurp(dir_ / "ingest.out");
      auto at = out.find("listening on 127.0.0.1:");
      if (at != std::string::npos && out.find('\n', at) != std::string::npos)
        return std::stoi(out.substr(at + 23));
      std::this_thread::sleep_for(10ms);
    }
    ADD_FAILURE() << "ingest sink did not start: " << slurp(dir_ / "ingest.err");
    return 0;
  }

  // The wall clock of the daemon, relative to true time ("+0", "-3600", "+3600").
  void set_offset(const std::string& offset) {
    write("faketime.rc", offset + "\n");
  }

  void start_daemon(int ingest_port, const std::string& initial_offset) {
    ops_port_ = free_port();
    const std::string y =
        "data_dir: data\n"
        "logging: {level: info}\n"
        "schedule: {shutdown_timeout: 3s}\n"
        "vault: {create_if_missing: true, kek: {file: data/kek.hex}}\n"
        "drivers:\n"
        "  - {name: mock, library: " +
        (fs::path(OEMLINK_PLUGIN_DIR) / "oemlink-driver-mock.so").string() +
        ", poll_interval: 1s, settings: {seed: 5, asleep_rate: 0, error_rate: 0}}\n"
        "connections:\n" +
        [] {
          std::string c;
          for (int i = 1; i <= kCars; ++i)
            c += "  - {id: car-" + std::to_string(i) +
                 ", driver: mock, vehicle_token_id: " + std::to_string(i) +
                 ", synthetic_token_id: " + std::to_string(100 + i) +
                 ", key_child: " + std::to_string(i) + "}\n";
          return c;
        }() +
        "sinks:\n"
        "  - {name: dimo, type: dimo_https, url: \"https://127.0.0.1:" +
        std::to_string(ingest_port) +
        "/\", client_cert: pki/client.crt, client_key: pki/client.key, ca_file: pki/ca.crt, "
        "max_in_flight: 16, timeout: 3s}\n"
        "  - {name: witness, type: file, path: witness.jsonl}\n"
        "listeners:\n  operations: {address: 127.0.0.1, port: " +
        std::to_string(ops_port_) + "}\n";
    const fs::path cfg = write("oemlink.yaml", y);
    set_offset(initial_offset);
    env_["LD_PRELOAD"] = faketime_;
    env_["FAKETIME_TIMESTAMP_FILE"] = (dir_ / "faketime.rc").string();
    env_["FAKETIME_NO_CACHE"] = "1";
    env_["FAKETIME_DONT_FAKE_MONOTONIC"] = "1";
    env_["DONT_FAKE_MONOTONIC"] = "1";  // the name before libfaketime 0.9.8
    // Under the sanitizer presets ASan wants its runtime first; libfaketime only wraps clocks.
    const char* asan = std::getenv("ASAN_OPTIONS");
    env_["ASAN_OPTIONS"] =
        std::string(asan ? asan : "") + (asan ? ":" : "") + "verify_asan_link_order=0";
    daemon_ = spawn({"run", "--config", cfg.string()}, kExe, "daemon");
    env_.clear();  // the ingest, curl and the CLI keep the real clock
    for (int i = 0; i < 300 && metrics().empty(); ++i) std::this_thread::sleep_for(50ms);
    ASSERT_FALSE(metrics().empty()) << slurp(dir_ / "daemon.err");
  }

  std::string ops(const std::string& path) {
    return command_output("curl -s --max-time 3 http://127.0.0.1:" + std::to_string(ops_port_) +
                          path);
  }
  std::string metrics() {
    return ops("/metrics");
  }
  double polls() {
    return metric(metrics(), "oemlink_polls_total");
  }

  boost::json::object ingest_stats(int port) {
    const std::string out =
        command_output("cd '" + dir_.string() +
                       "' && curl -s --max-time 5 --cert pki/client.crt --key pki/client.key "
                       "--cacert pki/ca.crt https://127.0.0.1:" +
                       std::to_string(port) + "/stats");
    boost::system::error_code ec;
    auto v = boost::json::parse(out, ec);
    return ec || !v.is_object() ? boost::json::object{} : v.as_object();
  }

  double accepted(int port) {
    const auto stats = ingest_stats(port);
    const auto* v = stats.if_contains("accepted");
    return v && v->is_number() ? v->to_number<double>() : 0;
  }

  // Polls counted over `seconds`, sampled each second; fails when any 2-second window had none.
  double poll_rate_over(int seconds, const std::string& phase) {
    std::vector<double> counts = {polls()};
    const auto begin = std::chrono::steady_clock::now();
    for (int s = 1; s <= seconds; ++s) {
      std::this_thread::sleep_until(begin + std::chrono::seconds(s));
      counts.push_back(polls());
    }
    for (size_t i = 2; i < counts.size(); ++i)
      EXPECT_GT(counts[i], counts[i - 2]) << phase << ": no poll in 2 s (second " << i << ")";
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
    return (counts.back() - counts.front()) / secs;
  }

  bool eventually(const std::function<bool()>& f, std::chrono::seconds limit) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      if (f()) return true;
      std::this_thread::sleep_for(200ms);
    }
    return f();
  }

  void stop_daemon() {
    kill(daemon_, SIGTERM);
    int status = 0;
    waitpid(daemon_, &status, 0);
    daemon_ = -1;
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << slurp(dir_ / "daemon.err");
  }

  // Every event that entered the outbox (the witness file sink's lines) reached the ingest,
  // none was refused there, and each car's event times never went back.
  void expect_all_delivered_in_order(int port) {
    std::set<std::string> witnessed, got;
    const bool all = eventually(
        [&] {
          witnessed.clear();
          for (auto& id : read_events(dir_ / "data/witness.jsonl").ids) witnessed.insert(id);
          Delivered d = read_events(dir_ / "ingest.jsonl");
          got = std::set<std::string>(d.ids.begin(), d.ids.end());
          return !witnessed.empty() &&
                 std::includes(got.begin(), got.end(), witnessed.begin(), witnessed.end());
        },
        90s);
    if (!all) {
      std::vector<std::string> missing;
      std::set_difference(witnessed.begin(), witnessed.end(), got.begin(), got.end(),
                          std::back_inserter(missing));
      FAIL() << missing.size() << " of " << witnessed.size()
             << " events in the outbox never reached the ingest (" << got.size()
             << " accepted), e.g. " << (missing.empty() ? "" : missing.front());
    }
    Delivered d = read_events(dir_ / "ingest.jsonl");
    std::cerr << "[ clock ] " << witnessed.size() << " events witnessed, " << d.ids.size()
              << " accepted by the ingest\n";
    const auto stats = ingest_stats(port);
    EXPECT_EQ(stats.at("rejected_400"), 0) << "the ingest refused events (future time?)";
    EXPECT_EQ(stats.at("order_violations"), 0);
    for (const auto& [subject, times] : d.times)
      for (size_t i = 1; i < times.size(); ++i)
        ASSERT_GE(times[i], times[i - 1]) << subject << ": event time went back at #" << i;
  }

  // The events the witness got from its `from`-th line on were made while a phase ran, from true
  // time `t0` to `t1`: each is stamped by true time, whatever the daemon's wall clock says (the
  // mock stamps readings with the time the host shows it). None ahead of it (an hour ahead with
  // the skew correction off), none older than the phase, and the newest recent (with the
  // correction off and the clock stepped back, the mock's time stands still).
  void expect_stamped_by_true_time(size_t from, int64_t t0, int64_t t1, const std::string& phase) {
    const std::vector<int64_t> times = read_events(dir_ / "data/witness.jsonl").times_in_order;
    ASSERT_GE(times.size(), from + 10) << phase << ": too few events witnessed";
    const auto [oldest, newest] = std::minmax_element(times.begin() + from, times.end());
    EXPECT_LE(*newest, t1 + 5'000)
        << phase << ": an event stamped " << (*newest - t1) / 1000 << " s ahead of true time";
    EXPECT_GE(*oldest, t0 - 5'000)
        << phase << ": an event stamped " << (t0 - *oldest) / 1000 << " s before the phase began";
    EXPECT_GE(*newest, t1 - 4'000) << phase << ": the newest event is " << (t1 - *newest) / 1000
                                   << " s old: event times stood still";
  }

  std::string faketime_;
  pid_t daemon_ = -1, ingest_ = -1;
  uint16_t ops_port_ = 0;
};

TEST_F(ClockStepTest, StepsOfAnHourWhileRunningDropNothingAndStampNothingAhead) {
  const int port = start_ingest();
  ASSERT_GT(port, 0);
  start_daemon(port, "+0");
  // A few deliveries: their Date headers make the estimate.
  ASSERT_TRUE(eventually([&] { return accepted(port) >= 10; }, 30s)) << slurp(dir_ / "daemon.err");

  struct Phase {
    std::string offset;
    double skew_s;
  };
  for (const Phase& p : {Phase{"+0", 0}, Phase{"-3600", -3600}, Phase{"+0", 0},
                         Phase{"+3600", 3600}, Phase{"+0", 0}}) {
    const size_t witnessed_before = read_events(dir_ / "data/witness.jsonl").ids.size();
    const int64_t phase_began = real_unix_ms();
    set_offset(p.offset);
    std::this_thread::sleep_for(2500ms);  // libfaketime re-reads the file; the status settles
    const double skew = metric(metrics(), "oemlink_clock_skew_seconds");
    EXPECT_NEAR(skew, p.skew_s, 5) << "offset " << p.offset;
    const std::string readyz = ops("/readyz");
    if (p.skew_s == 0) {
      EXPECT_EQ(readyz.find("\"clock\""), std::string::npos) << p.offset << ": " << readyz;
    } else {
      EXPECT_NE(readyz.find(R"("check":"clock")"), std::string::npos) << p.offset << ": " << readyz;
      // The magnitude is the metric's (above); Date's one second may make it 59m59s.
      EXPECT_NE(readyz.find(p.skew_s > 0 ? "ahead of true time by" : "behind true time by"),
                std::string::npos)
          << readyz;
    }
    const double rate = poll_rate_over(8, "offset " + p.offset);
    std::cerr << "[ clock ] offset " << p.offset << ": " << rate << " polls/s, skew " << skew
              << " s\n";
    EXPECT_NEAR(rate, kPollsPerSecond, kPollsPerSecond * 0.25) << "offset " << p.offset;
    expect_stamped_by_true_time(witnessed_before, phase_began, real_unix_ms(),
                                "offset " + p.offset);
  }
  const std::string m = metrics();
  EXPECT_EQ(metric(m, "oemlink_pipeline_readings_rejected_total"), 0);
  EXPECT_GT(metric(m, "oemlink_pipeline_readings_accepted_total"), 100);
  expect_all_delivered_in_order(port);
  // Stamped by true time throughout: nothing in the outbox or delivered is ahead of true time.
  const int64_t now = real_unix_ms();
  std::cerr << "[ clock ] newest event "
            << (read_events(dir_ / "data/witness.jsonl").max_time_ms - now)
            << " ms from true time\n";
  EXPECT_LE(read_events(dir_ / "data/witness.jsonl").max_time_ms, now);
  EXPECT_LE(read_events(dir_ / "ingest.jsonl").max_time_ms, now);
  stop_daemon();
}

TEST_F(ClockStepTest, EventsStampedWhileTheClockWasAheadAreHeldThenAllDelivered) {
  const int port = start_ingest();
  ASSERT_GT(port, 0);
  // The daemon starts with its clock 5 min 30 s ahead and nothing known of it: the first polls'
  // events are stamped ahead. The ingest would refuse them (400), so they must wait in the
  // outbox until true time has caught up, then all go.
  start_daemon(port, "+330");
  ASSERT_TRUE(eventually(
      [&] { return metric(metrics(), "oemlink_sink_events_held_total", "sink=\"dimo\"") > 0; },
      20s))
      << "nothing held";
  // The peer's Date headers (the sink asks for them first) make the estimate.
  ASSERT_TRUE(eventually(
      [&] { return std::abs(metric(metrics(), "oemlink_clock_skew_seconds") - 330) < 5; }, 20s))
      << metric(metrics(), "oemlink_clock_skew_seconds");
  EXPECT_NE(ops("/readyz").find(R"("check":"clock")"), std::string::npos);
  std::this_thread::sleep_for(3s);  // more polls while the first events are held
  EXPECT_EQ(ingest_stats(port).at("rejected_400"), 0);
  // The events stamped ahead of true time: in the outbox (the witness), not at the ingest.
  std::set<std::string> ahead;
  {
    const int64_t now = real_unix_ms();
    std::ifstream in(dir_ / "data/witness.jsonl");
    for (std::string line; std::getline(in, line);) {
      boost::system::error_code ec;
      auto v = boost::json::parse(line, ec);
      if (ec || !v.is_object()) continue;
      if (rfc3339_ms(v.as_object().at("time").as_string()) > now + 295'000)
        ahead.insert(std::string(v.as_object().at("id").as_string()));
    }
  }
  ASSERT_FALSE(ahead.empty()) << "no event stamped ahead";
  {
    const Delivered now_at_ingest = read_events(dir_ / "ingest.jsonl");
    for (const auto& id : now_at_ingest.ids)
      EXPECT_EQ(ahead.count(id), 0u) << id << " reached the ingest while ahead";
  }
  // Back to true time meanwhile (an operator fixes NTP): what is held stays held until due.
  set_offset("+0");
  expect_all_delivered_in_order(port);
  const Delivered d = read_events(dir_ / "ingest.jsonl");
  const std::set<std::string> got(d.ids.begin(), d.ids.end());
  size_t held_then_delivered = 0;
  for (const auto& id : ahead) held_then_delivered += got.count(id);
  EXPECT_EQ(held_then_delivered, ahead.size());
  std::cerr << "[ clock ] " << ahead.size() << " events stamped ahead, held, all delivered after\n";
  EXPECT_GT(metric(metrics(), "oemlink_sink_events_held_total", "sink=\"dimo\""), 0);
  EXPECT_EQ(metric(metrics(), "oemlink_pipeline_readings_rejected_total"), 0);
  stop_daemon();
}

}  // namespace
