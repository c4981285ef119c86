// The `oemlink` executable as operators use it: exit codes, messages, and a graceful SIGTERM.
#include "tests/e2e/cli_fixture.hpp"

#include <chrono>
#include <thread>

namespace {

using namespace oemlink::testing;

TEST_F(CliTest, VersionHelpAndUsageErrors) {
  auto v = run({"--version"});
  EXPECT_EQ(v.rc, 0);
  EXPECT_HAS(v.out, "driver ABI 1.0");
  EXPECT_EQ(run({"--help"}).rc, 0);
  EXPECT_EQ(run({"run", "--help"}).rc, 0);
  EXPECT_EQ(run({"check-config", "--help"}).rc, 0);
  EXPECT_EQ(run({"plugins", "--help"}).rc, 0);
  EXPECT_EQ(run({"frobnicate"}).rc, 2);
  EXPECT_EQ(run({}).rc, 2);
  EXPECT_EQ(run({"check-config"}).rc, 2);
  EXPECT_EQ(run({"run", "--bogus"}).rc, 2);
}

TEST_F(CliTest, CheckConfigAcceptsTheDefaultConfig) {
  auto r = run({"check-config", (kSource / "config/oemlink.yaml").string()});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_HAS(r.out, "OK (1 drivers, 5 connections, 1 sinks)");
}

TEST_F(CliTest, CheckConfigReportsPositionAndKeyPath) {
  auto f = write("bad.yaml",
                 "drivers:\n"
                 "  - name: mock\n"
                 "    library: mock\n"
                 "    pol_interval: 5s\n"
                 "connections: []\n");
  auto r = run({"check-config", f.string()});
  EXPECT_EQ(r.rc, 1);
  EXPECT_HAS(r.err, f.string() + ":4:5: drivers[0].pol_interval");
  EXPECT_HAS(r.err, "poll_interval");  // the suggestion
}

TEST_F(CliTest, CheckConfigValidatesDriverSettingsAgainstTheDriver) {
  auto f = write("bad-settings.yaml",
                 "drivers:\n"
                 "  - name: mock\n"
                 "    library: mock\n"
                 "    settings:\n"
                 "      sead: 3\n"
                 "connections: []\n");
  auto r = run({"check-config", f.string()});
  EXPECT_EQ(r.rc, 1);
  EXPECT_HAS(r.err, "drivers[0].settings.sead");
  EXPECT_HAS(r.err, "seed");
}

TEST_F(CliTest, PluginsInfoAndList) {
  auto info = run({"plugins", "info", "mock"});
  EXPECT_EQ(info.rc, 0) << info.err;
  EXPECT_HAS(info.out, "name:         mock");
  EXPECT_HAS(info.out, "capabilities: poll, stream");
  EXPECT_HAS(info.out, "ABI:          1.0");
  EXPECT_HAS(info.out, "seed");
  auto bad =
      run({"plugins", "info", std::string(OEMLINK_TEST_PLUGIN_DIR) + "/oemlink-driver-badabi.so"});
  EXPECT_EQ(bad.rc, 1);
  EXPECT_HAS(bad.err, "ABI version mismatch");
  auto list = run({"plugins", "list", "--config", (kSource / "config/oemlink.yaml").string()});
  EXPECT_EQ(list.rc, 0) << list.err;
  EXPECT_HAS(list.out, "mock");
  EXPECT_HAS(list.out, "poll, stream");
}

TEST_F(CliTest, RunOnTheEmbeddedDefaultProducesEvents) {
  auto r = run({"run", "--max-polls", "12", "--duration", "60s"});
  EXPECT_EQ(r.rc, 0) << r.err;
  std::ifstream in(dir_ / "var/oemlink/events.jsonl");
  int lines = 0;
  for (std::string l; std::getline(in, l);) {
    EXPECT_HAS(l, "\"type\":\"dimo.status\"");
    ++lines;
  }
  EXPECT_GE(lines, 10);  // a few polls may be simulated sleeps or errors
  EXPECT_HAS(r.err, "stopped");
}

TEST_F(CliTest, RunWithABadConfigExitsOne) {
  auto f = write("broken.yaml", "drivers: [ {name: x\n");
  auto r = run({"run", "--config", f.string()});
  EXPECT_EQ(r.rc, 1);
  EXPECT_HAS(r.err, "broken.yaml:");
}

TEST_F(CliTest, SigtermStopsGracefullyAfterInFlightPollsFinish) {
  auto f =
      write("slow.yaml",
            "data_dir: data\n"
            "vault: {create_if_missing: true, kek: {file: data/kek.hex}}\n"
            "drivers:\n"
            "  - {name: mock, library: mock, poll_interval: 100ms, settings: {latency: 400ms}}\n"
            "connections:\n"
            "  - {id: a, driver: mock, key_child: 1}\n"
            "  - {id: b, driver: mock, key_child: 2}\n"
            "sinks:\n"
            "  - {name: events, type: file, path: events.jsonl}\n");
  pid_t pid = spawn({"run", "--config", f.string()});
  // Wait until polls are in flight (the first ones start within 100 ms and take 400 ms).
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  kill(pid, SIGTERM);
  auto r = wait_for(pid);
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_HAS(r.err, "signal 15 received");
  EXPECT_HAS(r.err, "stopped");
  EXPECT_EQ(r.err.find("still in flight"), std::string::npos) << r.err;
  EXPECT_TRUE(fs::exists(dir_ / "data/events.jsonl"));
}

}  // namespace
