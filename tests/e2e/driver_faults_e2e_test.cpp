// Drivers that fail the host, end to end with the real `oemlink run`: a driver that dereferences
// NULL in poll is named as the process dies, quarantined after quarantine.after_crashes such
// deaths (the other driver's cars keep running), shown by `status` and `plugins list`, and let
// back in by `oemlink plugins unquarantine`; a driver whose polls keep hanging is let go of while
// running, and `unquarantine` + `oemlink reload` bring it back without a restart.
#include "tests/e2e/cli_fixture.hpp"

#include <boost/json.hpp>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

namespace {

using namespace oemlink::testing;
using namespace std::chrono_literals;

const std::string kProbe = std::string(OEMLINK_TEST_PLUGIN_DIR) + "/oemlink-driver-probe.so";

// mock: two cars that always work; flaky: the probe with `probe_settings`, one car.
std::string yaml(const std::string& probe_settings, const std::string& extra = "") {
  return "data_dir: data\n"
         "logging: {level: info}\n"
         "schedule: {shutdown_timeout: 2s}\n"
         "vault: {create_if_missing: true, kek: {file: data/kek.hex}}\n"
         "drivers:\n"
         "  - {name: mock, library: mock, poll_interval: 50ms, settings: {seed: 3}}\n"
         "  - {name: flaky, library: " +
         kProbe + ", poll_interval: 50ms, poll_timeout: 300ms, settings: " + probe_settings +
         "}\n"
         "connections:\n"
         "  - {id: car-1, driver: mock, key_child: 1}\n"
         "  - {id: car-2, driver: mock, key_child: 2}\n"
         "  - {id: car-9, driver: flaky, key_child: 9}\n"
         "sinks:\n"
         "  - {name: witness, type: file, path: witness.jsonl}\n" +
         extra;
}

class DriverFaultsTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    // Under the sanitizers (CI), their own fatal-signal handlers stand aside for the daemon's,
    // which is what this tests; without them the variable means nothing.
    const char* asan = std::getenv("ASAN_OPTIONS");
    env_["ASAN_OPTIONS"] = std::string(asan ? asan : "") +
                           ":allow_user_segv_handler=1:handle_segv=0:handle_sigbus=0:"
                           "handle_sigfpe=0:handle_sigill=0:handle_abort=0";
  }
  void TearDown() override {
    if (daemon_ > 0) {
      kill(daemon_, SIGKILL);
      waitpid(daemon_, nullptr, 0);
    }
    CliTest::TearDown();
  }

  size_t witnessed() {
    std::ifstream in(dir_ / "data/witness.jsonl");
    size_t n = 0;
    for (std::string line; std::getline(in, line);) n += line.empty() ? 0 : 1;
    return n;
  }
  boost::json::object status() {
    boost::system::error_code ec;
    auto v = boost::json::parse(slurp(dir_ / "data/status.json"), ec);
    return ec || !v.is_object() ? boost::json::object{} : v.as_object();
  }
  std::string driver_state(const std::string& name) {
    auto st = status();
    if (!st.contains("drivers")) return "";
    for (const auto& d : st.at("drivers").as_array())
      if (d.as_object().at("name").as_string() == name)
        return std::string(d.as_object().at("state").as_string());
    return "";
  }

  pid_t daemon_ = -1;
};

TEST_F(DriverFaultsTest, ACrashingDriverIsNamedThenQuarantinedWhileTheOthersCarsRun) {
#if defined(__SANITIZE_ADDRESS__)
  // UBSan stops the probe's NULL store first (halt_on_error): the handler is tested unsanitized.
  GTEST_SKIP() << "the sanitizers catch the driver's NULL store before the host's handler";
#endif
  write("oemlink.yaml", yaml("{crash: poll}"));
  // Each start dies in the driver's first poll, by the signal, naming driver, call and car.
  for (int i = 1; i <= 3; ++i) {
    Result r = run({"run", "--config", "oemlink.yaml"});
    EXPECT_EQ(r.rc, 128 + SIGSEGV) << r.err;
    EXPECT_HAS(r.err, "oemlink: fatal SIGSEGV (11) in driver flaky (library " + kProbe +
                          "), call poll, connection car-9");
  }
  const std::string faults = slurp(dir_ / "data/driver-faults.log");
  size_t crashes = 0;
  for (size_t at = faults.find("crash "); at != std::string::npos;
       at = faults.find("crash ", at + 1))
    ++crashes;
  EXPECT_EQ(crashes, 3u) << faults;
  EXPECT_HAS(faults, " flaky poll\n");

  // The fourth start leaves it out and serves the other driver's cars.
  daemon_ = spawn({"run", "--config", "oemlink.yaml"}, kExe, "oemlink");
  ASSERT_TRUE(eventually([&] { return witnessed() >= 20; })) << slurp(dir_ / "oemlink.err");
  const std::string log = slurp(dir_ / "oemlink.err");
  EXPECT_HAS(log,
             "driver flaky is quarantined and not loaded: crashed the host 3 times within 1 h "
             "(last in its poll call)");
  ASSERT_TRUE(eventually([&] { return driver_state("flaky") == "quarantined"; }));
  EXPECT_EQ(driver_state("mock"), "loaded");
  Result shown = run({"status", "--config", "oemlink.yaml"});
  EXPECT_HAS(shown.out, "driver flaky    quarantined: crashed the host 3 times");
  Result listed = run({"plugins", "list", "--config", "oemlink.yaml"});
  EXPECT_HAS(listed.out, "flaky            QUARANTINED: crashed the host 3 times");
  kill(daemon_, SIGTERM);
  EXPECT_EQ(wait_for(daemon_, "oemlink").rc, 0);
  daemon_ = -1;

  // Cleared: the next start loads it again (and, still broken, it crashes again).
  Result cleared = run({"plugins", "unquarantine", "--config", "oemlink.yaml", "flaky"});
  EXPECT_EQ(cleared.rc, 0) << cleared.err;
  EXPECT_HAS(cleared.out, "driver flaky: quarantine cleared");
  Result again = run({"run", "--config", "oemlink.yaml"});
  EXPECT_EQ(again.rc, 128 + SIGSEGV);
  EXPECT_HAS(again.err, "driver flaky loaded");
  Result unknown = run({"plugins", "unquarantine", "--config", "oemlink.yaml", "nosuch"});
  EXPECT_EQ(unknown.rc, 1);
  EXPECT_HAS(unknown.err, "no driver named \"nosuch\"");
}

// A driver's own thread crashing, while no host call into the driver is under way: the
// faulting instruction is in its library, so it is named (call "driver thread") and counted.
TEST_F(DriverFaultsTest, ACrashOnADriversOwnThreadIsNamedAndCountsTowardsQuarantine) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "the sanitizers catch the driver's NULL store before the host's handler";
#endif
  write("oemlink.yaml", yaml("{crash: thread}", "quarantine: {after_crashes: 1}\n"));
  Result r = run({"run", "--config", "oemlink.yaml"});
  EXPECT_EQ(r.rc, 128 + SIGSEGV) << r.err;
  EXPECT_HAS(r.err, "oemlink: fatal SIGSEGV (11) in driver flaky (library " + kProbe +
                        "), call driver thread; the next start counts it");
  EXPECT_HAS(slurp(dir_ / "data/driver-faults.log"), " flaky driver thread\n");
  // The next start leaves it out and serves the other driver's cars.
  daemon_ = spawn({"run", "--config", "oemlink.yaml"}, kExe, "oemlink");
  ASSERT_TRUE(eventually([&] { return driver_state("flaky") == "quarantined"; }))
      << slurp(dir_ / "oemlink.err");
  EXPECT_HAS(slurp(dir_ / "oemlink.err"),
             "driver flaky is quarantined and not loaded: crashed the host 1 times within 1 h "
             "(last in its driver thread call)");
  ASSERT_TRUE(eventually([&] { return witnessed() >= 10; })) << slurp(dir_ / "oemlink.err");
  kill(daemon_, SIGTERM);
  EXPECT_EQ(wait_for(daemon_, "oemlink").rc, 0);
  daemon_ = -1;
}

TEST_F(DriverFaultsTest, ADriverThatKeepsHangingIsLetGoOfLiveAndBackOnReload) {
  write("oemlink.yaml",
        yaml("{hang: \"yes\"}", "quarantine: {after_hung_polls: 3, hung_window: 1m}\n"));
  daemon_ = spawn({"run", "--config", "oemlink.yaml"}, kExe, "oemlink");
  ASSERT_TRUE(eventually([&] { return driver_state("flaky") == "quarantined"; }))
      << slurp(dir_ / "oemlink.err");
  EXPECT_HAS(slurp(dir_ / "oemlink.err"),
             "driver flaky is quarantined: 3 polls hung past its poll_timeout within 1 min; its 1 "
             "connections stop");
  EXPECT_HAS(slurp(dir_ / "data/driver-faults.log"), "quarantine ");
  // The mock's cars were never held up.
  const size_t before = witnessed();
  EXPECT_TRUE(eventually([&] { return witnessed() >= before + 20; }));

  // Cleared and reloaded: the driver is created again and its car served (and hangs again).
  ASSERT_EQ(run({"plugins", "unquarantine", "--config", "oemlink.yaml", "flaky"}).rc, 0);
  Result reloaded = run({"reload", "--config", "oemlink.yaml"});
  EXPECT_EQ(reloaded.rc, 0) << reloaded.err;
  EXPECT_HAS(reloaded.out, "driver flaky unquarantined");
  EXPECT_TRUE(eventually([&] { return driver_state("flaky") == "loaded"; }));
  // It still hangs: quarantined again by the same budget.
  EXPECT_TRUE(eventually([&] { return driver_state("flaky") == "quarantined"; }))
      << slurp(dir_ / "oemlink.err");
  kill(daemon_, SIGTERM);
  Result stopped = wait_for(daemon_, "oemlink");
  daemon_ = -1;
  EXPECT_EQ(stopped.rc, 0) << stopped.err;
}

// ---- isolation: process -------------------------------------------------------------------

// The probe's car-9 (vehicle token 9) emits speed = its token chain's counter, one per poll that
// completes: the values witnessed, in order, show whether any emitted reading went missing.
std::vector<double> speeds_of_car9(const fs::path& jsonl) {
  std::vector<double> out;
  std::ifstream in(jsonl);
  for (std::string line; std::getline(in, line);) {
    boost::system::error_code ec;
    auto v = boost::json::parse(line, ec);
    if (ec || !v.is_object()) continue;
    const auto& o = v.as_object();
    std::string subject(o.at("subject").as_string());
    if (subject.substr(subject.rfind(':') + 1) != "9") continue;
    if (const auto* data = o.if_contains("data"); data && data->is_object())
      if (const auto* sig = data->as_object().if_contains("signals"); sig && sig->is_array())
        for (const auto& x : sig->as_array())
          if (x.as_object().at("name").as_string() == "speed")
            out.push_back(x.as_object().at("value").to_number<double>());
  }
  return out;
}

std::string isolated_yaml(const std::string& probe_settings, const std::string& extra = "") {
  std::string y = yaml(probe_settings, extra);
  y.replace(y.find("poll_timeout: 300ms"), 19, "poll_timeout: 300ms, isolation: process");
  y.replace(y.find("{id: car-9, driver: flaky, key_child: 9}"), 40,
            "{id: car-9, driver: flaky, key_child: 9, vehicle_token_id: 9}");
  return y;
}

// The first process whose parent is `parent` (whichever of its threads started it).
pid_t child_of(pid_t parent) {
  for (const auto& e : fs::directory_iterator("/proc")) {
    std::string stat = slurp(e.path() / "stat");
    auto close = stat.rfind(')');
    if (close == std::string::npos || close + 4 >= stat.size()) continue;
    std::istringstream rest(stat.substr(close + 2));
    std::string state;
    long ppid = 0;
    rest >> state >> ppid;
    if (ppid == parent && state != "Z") return static_cast<pid_t>(std::stol(e.path().filename()));
  }
  return -1;
}

size_t count_of(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST_F(DriverFaultsTest, InItsOwnProcessACrashingDriverIsRestartedAndLosesNothing) {
  // Every 4th poll of each of its processes dereferences NULL.
  write("oemlink.yaml", isolated_yaml("{crash_after: \"4\"}"));
  daemon_ = spawn({"run", "--config", "oemlink.yaml"}, kExe, "oemlink");
  // Two crashes and two restarts (back-off 1 s, then 2 s), the host up throughout.
  ASSERT_TRUE(eventually(
      [&] { return count_of(slurp(dir_ / "oemlink.err"), "its process restarted") >= 2; }, 30s))
      << slurp(dir_ / "oemlink.err");
  const std::string log = slurp(dir_ / "oemlink.err");
#if !defined(__SANITIZE_ADDRESS__)
  // (Under the sanitizers UBSan stops the NULL store first; the process still ends.)
  EXPECT_HAS(log, "oemlink-driver-process: fatal signal 11 in driver flaky (library " + kProbe +
                      "), call poll, connection car-9");
  EXPECT_HAS(log, ") was killed by SIGSEGV (11)");
#endif
  EXPECT_HAS(log, "driver flaky loaded: probe");
  EXPECT_HAS(log, "in its own process (pid ");
  EXPECT_HAS(log, "polls in flight retried: 1; restarting it in 1000 ms");
  EXPECT_HAS(log, "restarting it in 2000 ms");
  EXPECT_EQ(driver_state("flaky"), "loaded");
  // The other driver's cars never stopped, and the daemon stops cleanly.
  const size_t before = witnessed();
  EXPECT_TRUE(eventually([&] { return witnessed() >= before + 20; }));
  kill(daemon_, SIGTERM);
  Result stopped = wait_for(daemon_, "oemlink");
  daemon_ = -1;
  EXPECT_EQ(stopped.rc, 0) << stopped.err;

  // 3 polls complete per process before the 4th crashes it: each rotated the token chain (a
  // durable secret) and emitted its counter. Every value from 1 on is witnessed, none twice, none
  // skipped: nothing the host accepted from a process that then crashed was lost.
  std::vector<double> speeds = speeds_of_car9(dir_ / "data/witness.jsonl");
  ASSERT_GE(speeds.size(), 6u);
  for (size_t i = 0; i < speeds.size(); ++i) EXPECT_EQ(speeds[i], static_cast<double>(i + 1));
  EXPECT_HAS(slurp(dir_ / "data/status.json"), "\"drivers\"");
}

TEST_F(DriverFaultsTest, InItsOwnProcessAHangingDriverIsRestartedNotQuarantined) {
  write("oemlink.yaml",
        isolated_yaml("{hang: \"yes\"}", "quarantine: {after_hung_polls: 3, hung_window: 1m}\n"));
  daemon_ = spawn({"run", "--config", "oemlink.yaml"}, kExe, "oemlink");
  ASSERT_TRUE(eventually(
      [&] { return count_of(slurp(dir_ / "oemlink.err"), "its process restarted") >= 2; }, 30s))
      << slurp(dir_ / "oemlink.err");
  const std::string log = slurp(dir_ / "oemlink.err");
  EXPECT_HAS(log, "to restart it: 3 polls hung past its poll_timeout within 1 min");
  EXPECT_HAS(log, ") was killed by SIGKILL (9)");
  EXPECT_EQ(driver_state("flaky"), "loaded");
  EXPECT_FALSE(fs::exists(dir_ / "data/driver-faults.log") &&
               slurp(dir_ / "data/driver-faults.log").find("quarantine ") != std::string::npos);
  const size_t before = witnessed();
  EXPECT_TRUE(eventually([&] { return witnessed() >= before + 20; }));
  kill(daemon_, SIGTERM);
  Result stopped = wait_for(daemon_, "oemlink");
  daemon_ = -1;
  EXPECT_EQ(stopped.rc, 0) << stopped.err;
}

TEST_F(DriverFaultsTest, InItsOwnProcessTheDriverGetsNoSecretOfTheHostsEnvironment) {
  // The probe reads nothing of the environment, so look at its process from outside while it
  // runs: its environment has none of the host's OEMLINK_* variables.
  env_["OEMLINK_ADMIN_TOKEN"] = "host-secret-value";
  write("oemlink.yaml", isolated_yaml("{}"));
  daemon_ = spawn({"run", "--config", "oemlink.yaml"}, kExe, "oemlink");
  ASSERT_TRUE(eventually([&] { return witnessed() >= 10; })) << slurp(dir_ / "oemlink.err");
  pid_t child = child_of(daemon_);
  ASSERT_GT(child, 0);
  EXPECT_HAS(slurp(fs::path("/proc") / std::to_string(child) / "cmdline"),
             "oemlink-driver-process");
  // Not dumpable: its environment and memory are closed even to this same user (root reads it).
  std::string env = slurp(fs::path("/proc") / std::to_string(child) / "environ");
  if (geteuid() == 0) {
    EXPECT_NE(env.find("PATH="), std::string::npos) << "read as root";
  }
  EXPECT_EQ(env.find("host-secret-value"), std::string::npos);
  EXPECT_EQ(env.find("OEMLINK_"), std::string::npos);
  size_t fds = 0;
  for (auto& e : fs::directory_iterator(fs::path("/proc") / std::to_string(child) / "fd")) {
    (void)e;
    ++fds;
  }
  EXPECT_LE(fds, 4u) << "stdin, stdout, stderr and the channel only";
  kill(daemon_, SIGTERM);
  EXPECT_EQ(wait_for(daemon_, "oemlink").rc, 0);
  daemon_ = -1;
  // It ended with the host.
  EXPECT_FALSE(
      fs::exists(fs::path("/proc") / std::to_string(child) / "cmdline") &&
      slurp(fs::path("/proc") / std::to_string(child) / "cmdline").find("oemlink-driver-process") !=
          std::string::npos);
}

}  // namespace
