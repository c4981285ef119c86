// The `oemlink` executable as operators use it: exit codes, messages, and a graceful SIGTERM.
#include "tests/e2e/cli_fixture.hpp"

#include <oemlink/driver.h>

#include <chrono>
#include <thread>

namespace {

using namespace oemlink::testing;

const std::string kAbi =
    std::to_string(OEMLINK_ABI_MAJOR) + "." + std::to_string(OEMLINK_ABI_MINOR);

TEST_F(CliTest, VersionHelpAndUsageErrors) {
  auto v = run({"--version"});
  EXPECT_EQ(v.rc, 0);
  EXPECT_HAS(v.out, "driver ABI " + kAbi);
  EXPECT_EQ(run({"--help"}).rc, 0);
  EXPECT_EQ(run({"run", "--help"}).rc, 0);
  EXPECT_EQ(run({"check-config", "--help"}).rc, 0);
  EXPECT_EQ(run({"plugins", "--help"}).rc, 0);
  EXPECT_EQ(run({"frobnicate"}).rc, 2);
  EXPECT_EQ(run({}).rc, 2);
  EXPECT_EQ(run({"check-config"}).rc, 2);
  EXPECT_EQ(run({"run", "--bogus"}).rc, 2);
}

TEST_F(CliTest, UsageErrorsExitTwoWithTheSynopsisOnStderr) {
  const std::vector<std::vector<std::string>> bad = {
      {"plugins"},
      {"plugins", "frob"},
      {"plugins", "info"},
      {"keys"},
      {"verify"},
      {"verify", "a.jsonl", "--bogus"},
      {"status", "--bogus"},
      {"status", "--config"},
      {"deadletter"},
      {"deadletter", "frob"},
      {"deadletter", "list", "--seq", "x"},
      {"run", "--duration", "30"},  // a bare number could be seconds or milliseconds
      {"run", "--max-polls", "x"},
      {"check-config", "a.yaml", "b.yaml"},
      {"check-config", ""},
  };
  for (const auto& args : bad) {
    auto r = run(args);
    std::string words = args.front() + (args.size() > 1 ? " " + args[1] : "");
    EXPECT_EQ(r.rc, 2) << words;
    EXPECT_HAS(r.err, "usage: oemlink " + args.front());
    EXPECT_HAS(r.err, "--help` for details");
    EXPECT_EQ(r.out, "") << words;
  }
  EXPECT_HAS(run({"frobnicate"}).err, "unknown command 'frobnicate'");
  EXPECT_HAS(run({"keys", "frob"}).err, "unknown command 'frob'");
  // A word that names a command elsewhere is still a plain argument here.
  auto r = run({"check-config", "run"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_HAS(r.err, "run: cannot read");
}

TEST_F(CliTest, HelpAndVersionWordsStillWork) {
  auto help = run({"help"});
  EXPECT_EQ(help.rc, 0);
  EXPECT_HAS(help.out, "status [--config FILE] [--json]");  // every command with its options
  auto keys = run({"keys", "help"});
  EXPECT_EQ(keys.rc, 0);
  EXPECT_HAS(keys.out, "--seed-file");
  auto version = run({"version"});
  EXPECT_EQ(version.rc, 0);
  EXPECT_EQ(version.out, run({"--version"}).out);
  EXPECT_HAS(version.out, "driver ABI");
}

TEST_F(CliTest, StatusShowsTheDaemonsSnapshotAndDeadletterRespectsIt) {
  auto cfg = write("st.yaml",
                   "data_dir: data\n"
                   "drivers:\n"
                   "  - {name: mock, library: mock}\n"
                   "connections: []\n")
                 .string();
  auto none = run({"status", "-c", cfg});
  EXPECT_EQ(none.rc, 1);
  EXPECT_HAS(none.out, "no status in");

  write("data/status.json", "{\"pid\": 1, \"running\"");
  auto torn = run({"status", "--config", cfg});
  EXPECT_EQ(torn.rc, 1);
  EXPECT_HAS(torn.err, (dir_ / "data/status.json").string());

  // As the daemon writes it; this test process stands in for the running daemon.
  auto doc = [](bool running) {
    return "{\"pid\":" + std::to_string(getpid()) + ",\"running\":" + (running ? "true" : "false") +
           ",\"updated_ms\":1,\"connections\":5,\"metrics\":{\"oemlink_polls_total{driver="
           "\\\"mock\\\",outcome=\\\"ok\\\"}\":12},"
           "\"outbox\":{\"depth\":3,\"bytes\":4096,\"oldest_ms\":0,\"appended\":40,\"dropped\":0,"
           "\"refused\":0,\"corrupt\":0,\"dead_letters\":7,\"durable_seq\":39},"
           "\"sinks\":[{\"name\":\"dimo\",\"delivered\":30,\"retried\":4,\"dead_lettered\":7,"
           "\"in_flight\":2,\"pending\":1}]}";
  };
  write("data/status.json", doc(true));
  auto up = run({"status", "--config", cfg});
  EXPECT_EQ(up.rc, 0) << up.err;
  EXPECT_HAS(up.out, "oemlink running (pid " + std::to_string(getpid()) + ")");
  EXPECT_HAS(up.out, "connections: 5   polls ok 12");
  EXPECT_HAS(up.out, "depth 3 (4 KiB)");
  EXPECT_HAS(up.out, "sink dimo     delivered 30, retried 4, dead-lettered 7, in flight 2");
  auto json = run({"status", "--config", cfg, "--json"});
  EXPECT_EQ(json.rc, 0);
  EXPECT_HAS(json.out, "\"durable_seq\":39");
  EXPECT_HAS(json.out, "\"latency_p99_ms\":0");  // an older daemon's file, in today's shape

  auto retry = run({"deadletter", "retry", "--config", cfg});
  EXPECT_EQ(retry.rc, 1);
  EXPECT_HAS(retry.err, "stop it first");

  write("data/status.json", doc(false));
  auto down = run({"status", "--config", cfg});
  EXPECT_EQ(down.rc, 1);
  EXPECT_HAS(down.out, "oemlink NOT running");
}

TEST_F(CliTest, VerifyRefusesWhatIsNotAFileOfEvents) {
  // /dev/zero has no line end: before the check it was read forever.
  for (const std::string& target : std::vector<std::string>{"/dev/zero", dir_.string()}) {
    auto r = run({"verify", target});
    EXPECT_EQ(r.rc, 1) << target;
    EXPECT_HAS(r.err, target + " is not a regular file");
  }
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
  EXPECT_HAS(info.out, "ABI:          " + kAbi);
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

// `systemctl stop` right after a start: a SIGTERM while the daemon is still loading its config and
// opening its stores is honoured once it runs, with a graceful exit, never the default action.
// 20,000 connections make the start last a few hundred ms, so the signal lands inside it.
TEST_F(CliTest, SigtermWhileStartingStillStopsGracefully) {
  std::string yaml =
      "data_dir: data\n"
      "vault: {create_if_missing: true, kek: {file: data/kek.hex}}\n"
      "drivers:\n"
      "  - {name: mock, library: mock, poll_interval: 1h}\n"
      "sinks:\n"
      "  - {name: events, type: file, path: events.jsonl}\n"
      "connections:\n";
  for (int i = 1; i <= 20000; ++i)
    yaml += "  - {id: c" + std::to_string(i) + ", driver: mock, key_child: " + std::to_string(i) +
            "}\n";
  auto f = write("early.yaml", yaml);
  pid_t pid = spawn({"run", "--config", f.string()});
  // Signalled once the start has taken the data-dir lock (opening the store and 20,000
  // connections follow), not after a fixed delay: a sanitizer build may not have reached main
  // in 150 ms, and a signal before main is the default action, as for any program.
  for (int i = 0; i < 2000 && !fs::exists(dir_ / "data/oemlink.lock"); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  kill(pid, SIGTERM);
  auto r = wait_for(pid);
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_HAS(r.err, "stopped");
}

}  // namespace
