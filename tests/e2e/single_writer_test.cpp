// One daemon per data dir: a second `oemlink run` on a data dir in use is refused before it opens
// anything, naming the holder's pid; once the first stops, the dir is free again.
#include "tests/e2e/cli_fixture.hpp"

#include <chrono>
#include <thread>

namespace oemlink::testing {
namespace {

using namespace std::chrono_literals;

class SingleWriterTest : public CliTest {
 protected:
  // Waits until the daemon wrote its status (it holds the lock by then).
  bool wait_until_running() {
    for (int i = 0; i < 300; ++i) {
      if (fs::exists(dir_ / "var/oemlink/status.json")) return true;
      std::this_thread::sleep_for(50ms);
    }
    return false;
  }
};

TEST_F(SingleWriterTest, ASecondDaemonOnTheSameDataDirIsRefusedNamingTheHolder) {
  pid_t first = spawn({"run", "--duration", "30s"}, kExe, "first");
  ASSERT_TRUE(wait_until_running()) << slurp(dir_ / "first.err");
  Result second = run({"run", "--duration", "2s"});
  EXPECT_EQ(second.rc, 1);
  EXPECT_HAS(second.err, "in use by oemlink pid " + std::to_string(first));
  EXPECT_HAS(second.err, "oemlink.lock");

  kill(first, SIGTERM);
  EXPECT_EQ(wait_for(first, "first").rc, 0);
  Result again = run({"run", "--duration", "1s"});
  EXPECT_EQ(again.rc, 0) << again.err;
}

TEST_F(SingleWriterTest, AKilledDaemonLeavesNoStaleLock) {
  pid_t first = spawn({"run", "--duration", "30s"}, kExe, "first");
  ASSERT_TRUE(wait_until_running()) << slurp(dir_ / "first.err");
  kill(first, SIGKILL);
  wait_for(first, "first");
  Result again = run({"run", "--duration", "1s"});
  EXPECT_EQ(again.rc, 0) << again.err;
}

TEST_F(SingleWriterTest, ChangesToTheOutboxWaitForTheDaemonWhileReadsWorkBesideIt) {
  pid_t daemon = spawn({"run", "--duration", "30s"}, kExe, "daemon");
  ASSERT_TRUE(wait_until_running()) << slurp(dir_ / "daemon.err");
  Result list = run({"deadletter", "list"});
  EXPECT_EQ(list.rc, 0) << list.err;
  EXPECT_HAS(list.out, "0 dead letters");
  Result purge = run({"deadletter", "purge"});
  EXPECT_EQ(purge.rc, 1);
  EXPECT_HAS(purge.err, "oemlink deadletter purge: data dir");
  EXPECT_HAS(purge.err, "in use by oemlink pid " + std::to_string(daemon));
  kill(daemon, SIGTERM);
  EXPECT_EQ(wait_for(daemon, "daemon").rc, 0);
  Result after = run({"deadletter", "purge"});
  EXPECT_EQ(after.rc, 0) << after.err;
}

TEST_F(SingleWriterTest, ANewSeedIsRefusedWhileTheDaemonSignsWithTheOldOne) {
  pid_t daemon = spawn({"run", "--duration", "30s"}, kExe, "daemon");
  ASSERT_TRUE(wait_until_running()) << slurp(dir_ / "daemon.err");
  std::string vault = (dir_ / "var/oemlink/vault.sealed").string();
  std::string before = slurp(vault);
  Result init =
      run({"keys", "init", "--kek-file", "var/oemlink/kek.hex", "--force", "--vault", vault});
  EXPECT_EQ(init.rc, 1);
  EXPECT_HAS(init.err, "in use by oemlink pid " + std::to_string(daemon));
  EXPECT_EQ(slurp(vault), before) << "the sealed seed was replaced under the running daemon";
  kill(daemon, SIGTERM);
  EXPECT_EQ(wait_for(daemon, "daemon").rc, 0);
}

}  // namespace
}  // namespace oemlink::testing
