// Drivers that fail the host, end to end with the real `oemlink run`: a driver that dereferences
// NULL in poll is named as the process dies, quarantined after quarantine.after_crashes such
// deaths (the other driver's cars keep running), shown by `status` and `plugins list`, and let
// back in by `oemlink plugins unquarantine`; a driver whose polls keep hanging is let go of while
// running, and `unquarantine` + `oemlink reload` bring it back without a restart.
#include "tests/e2e/cli_fixture.hpp"

#include <boost/json.hpp>

#include <chrono>
#include <cstdlib>
#include <thread>

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

}  // namespace
