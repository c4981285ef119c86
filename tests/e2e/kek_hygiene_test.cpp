// The KEK never stays where another process or a crash can take it: the real `oemlink`, probed
// from outside while it runs. Its environment (/proc/<pid>/environ), ptrace, core dumps, its
// command line in `ps`, and the mlock warning that says when keys may reach swap.
#include "tests/e2e/cli_fixture.hpp"

#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#include <cerrno>
#include <chrono>
#include <thread>

namespace oemlink::testing {
namespace {

using namespace std::chrono_literals;

constexpr const char* kKek = "5e5e5e5e00112233445566778899aabbccddeeff00112233445566778899aabb";

constexpr const char* kEnvKekConfig = R"(data_dir: data
vault: {create_if_missing: true, kek: {env: OEMLINK_KEK}}
drivers:
  - {name: mock, library: mock}
connections:
  - {id: car-a, driver: mock, vin: 5YJ3E1EA7KF000001, key_child: 1}
sinks:
  - {name: f, type: file, path: events.jsonl}
)";

// Changes this process's capability sets; false when the kernel refuses (not root: nothing to
// drop anyway).
bool change_capability(int cap, bool effective, bool permitted_and_inheritable) {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3]{};
  if (syscall(SYS_capget, &header, data) != 0) return false;
  const uint32_t bit = 1u << (cap % 32);
  if (effective) data[cap / 32].effective &= ~bit;
  if (permitted_and_inheritable) {
    data[cap / 32].effective &= ~bit;
    data[cap / 32].permitted &= ~bit;
    data[cap / 32].inheritable &= ~bit;
  }
  return syscall(SYS_capset, &header, data) == 0;
}

// A root process gets its capabilities back on exec from the bounding set; drop it there too.
void drop_capability_across_exec(int cap) {
  (void)prctl(PR_CAPBSET_DROP, cap, 0, 0, 0);
  (void)change_capability(cap, true, true);
}

class KekHygieneTest : public CliTest {
 protected:
  // Starts `oemlink run` on an env-sourced KEK and waits until its connections are open (the
  // KEK has been read by then, and the vault and outbox opened).
  pid_t start_daemon() {
    write("oemlink.yaml", kEnvKekConfig);
    env_["OEMLINK_KEK"] = kKek;
    const pid_t pid = spawn({"run", "--config", "oemlink.yaml", "--duration", "60s"});
    for (int i = 0; i < 400; ++i) {
      if (slurp(dir_ / "stderr").find("connections opened") != std::string::npos) return pid;
      int status = 0;
      if (waitpid(pid, &status, WNOHANG) == pid) {
        ADD_FAILURE() << "oemlink run exited early:\n" << slurp(dir_ / "stderr");
        return -1;
      }
      std::this_thread::sleep_for(25ms);
    }
    ADD_FAILURE() << "oemlink run did not open its connections:\n" << slurp(dir_ / "stderr");
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    return -1;
  }

  void stop(pid_t pid) {
    kill(pid, SIGTERM);
    EXPECT_EQ(wait_for(pid).rc, 0) << slurp(dir_ / "stderr");
  }

  static std::string proc_file(pid_t pid, const char* name) {
    return slurp(fs::path("/proc") / std::to_string(pid) / name);
  }

  // The "Max core file size" line of /proc/<pid>/limits, spaces collapsed.
  static std::string core_limit(pid_t pid) {
    std::istringstream in(proc_file(pid, "limits"));
    for (std::string line; std::getline(in, line);) {
      if (!line.starts_with("Max core file size")) continue;
      std::istringstream words(line.substr(std::string("Max core file size").size()));
      std::string soft, hard;
      words >> soft >> hard;
      return soft + " " + hard;
    }
    return "?";
  }

  size_t count(const std::string& hay, const std::string& needle) {
    size_t n = 0;
    for (size_t at = hay.find(needle); at != std::string::npos; at = hay.find(needle, at + 1)) ++n;
    return n;
  }
};

TEST_F(KekHygieneTest, RunLeavesNoKekInItsEnvironmentBlock) {
  const pid_t pid = start_daemon();
  ASSERT_GT(pid, 0);
  const std::string environ_block = proc_file(pid, "environ");
  EXPECT_FALSE(environ_block.empty());
  EXPECT_EQ(environ_block.find(kKek), std::string::npos);
  EXPECT_EQ(environ_block.find("OEMLINK_KEK="), std::string::npos);
  // Every variable but the KEK is still there.
  EXPECT_HAS(environ_block, "PATH=");
  stop(pid);
  EXPECT_EQ(slurp(dir_ / "stderr").find(kKek), std::string::npos);
}

// Not dumpable: a process of the same uid without CAP_SYS_PTRACE cannot attach, so cannot read
// the key memory either. (As root, the probe keeps CAP_SYS_PTRACE only in its permitted set, so
// what decides is the daemon's dumpable flag.)
TEST_F(KekHygieneTest, RunCannotBeTracedBySameUidProcesses) {
  const pid_t pid = start_daemon();
  ASSERT_GT(pid, 0);
  const pid_t probe = fork();
  if (probe == 0) {
    (void)change_capability(CAP_SYS_PTRACE, true, false);
    if (ptrace(PTRACE_SEIZE, pid, nullptr, nullptr) == 0) _exit(0);  // exiting detaches
    _exit(errno == EPERM ? 1 : 2);
  }
  int status = 0;
  ASSERT_EQ(waitpid(probe, &status, 0), probe);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 1) << "0: attached to the daemon; 2: another error";
  stop(pid);
}

// RLIMIT_CORE 0 in the daemon even when it was started with cores allowed, and a SIGABRT then
// leaves no core anywhere a core_pattern of "core" or a pipe would put it.
TEST_F(KekHygieneTest, RunAllowsNoCoreDumpEvenWhenAborted) {
  in_child_ = [] {
    rlimit core{};
    getrlimit(RLIMIT_CORE, &core);
    core.rlim_cur = core.rlim_max;  // as many cores as this test may allow
    setrlimit(RLIMIT_CORE, &core);
  };
  const pid_t pid = start_daemon();
  ASSERT_GT(pid, 0);
  EXPECT_EQ(core_limit(pid), "0 0");
  kill(pid, SIGABRT);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGABRT);
  EXPECT_FALSE(WCOREDUMP(status));
  for (const auto& entry : fs::recursive_directory_iterator(dir_)) {
    EXPECT_FALSE(entry.path().filename().string().starts_with("core")) << entry.path();
  }
}

// Without CAP_IPC_LOCK and with RLIMIT_MEMLOCK 0, mlock fails for every key buffer: one warning
// with the reason, on stderr (for `keys`, stdout stays the bare address scripts read).
TEST_F(KekHygieneTest, MlockRefusalIsReportedOnceOnStderr) {
#if defined(__SANITIZE_ADDRESS__)
  // The oemlink of this build is instrumented too, and ASan turns mlock into a no-op.
  GTEST_SKIP() << "AddressSanitizer intercepts mlock as a no-op that reports success";
#endif
  in_child_ = [] {
    drop_capability_across_exec(CAP_IPC_LOCK);
    const rlimit none{0, 0};
    setrlimit(RLIMIT_MEMLOCK, &none);
  };
  const pid_t pid = start_daemon();
  ASSERT_GT(pid, 0);
  stop(pid);
  const std::string run_err = slurp(dir_ / "stderr");
  EXPECT_EQ(count(run_err, "mlock failed"), 1u) << run_err;
  EXPECT_HAS(run_err, "mlock failed (Operation not permitted)");

  Result keys = run({"keys", "address", "1", "--vault", "data/vault.sealed"});
  ASSERT_EQ(keys.rc, 0) << keys.err;
  EXPECT_EQ(keys.out.size(), 43u) << keys.out;  // "0x" + 40 hex digits + "\n"
  EXPECT_EQ(count(keys.err, "mlock failed"), 1u) << keys.err;
}

// A --kek-command line may carry a credential; oemlink's own command line, which `ps` shows every
// user, no longer holds it once the process has started.
TEST_F(KekHygieneTest, KekCommandIsNotInTheCommandLineOfOemlink) {
  write("kek.hex", std::string(kKek) + "\n");
  fs::permissions(dir_ / "kek.hex", fs::perms::owner_read | fs::perms::owner_write);
  env_["OEMLINK_KEK"] = kKek;
  ASSERT_EQ(run({"keys", "init", "--vault", "vault.sealed"}).rc, 0);
  env_.erase("OEMLINK_KEK");

  const std::string command = "sleep 2; cat kek.hex # token=s3cr3t-api-token";
  const pid_t pid =
      spawn({"keys", "address", "1", "--vault", "vault.sealed", "--kek-command", command}, kExe,
            "address");
  std::this_thread::sleep_for(700ms);
  const std::string cmdline = proc_file(pid, "cmdline");
  EXPECT_HAS(cmdline, "--kek-command");
  EXPECT_EQ(cmdline.find("s3cr3t"), std::string::npos) << cmdline;
  const Result r = wait_for(pid, "address");
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out.size(), 43u) << r.out;
  EXPECT_EQ(r.err.find("s3cr3t"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace oemlink::testing
