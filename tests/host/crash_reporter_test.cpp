// The fatal-signal handler itself, in a forked child that dies: a crash on a thread of a driver's
// own is named by where its code is mapped, a stack overflow in a driver call on any host thread
// is reported (each such thread has an alternate stack), and a second thread dying while the
// first reports waits instead of ending the process unreported.
#include "core/host/driver_call_frame.hpp"
#include "core/host/driver_quarantine.hpp"
#include "core/host/driver_set.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

namespace oemlink::host {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// Not known to be null to the compiler, so the store is a real SIGSEGV and not a trap.
int* volatile g_nowhere = nullptr;
volatile bool g_never = false;

[[gnu::noinline]] void crash_here() {
  *g_nowhere = 1;
}

// A jump to address 0: the faulting instruction is in nobody's code.
void (*volatile g_no_function)() = nullptr;

[[gnu::noinline]] int recurse(int depth) {
  volatile char pad[512];
  pad[0] = static_cast<char>(depth);
  if (g_never) return pad[0];
  return recurse(depth + 1) + pad[0];
}

struct Death {
  int status = 0;
  std::string err;  // what the child wrote to stderr
};

class CrashReporterTest : public ::testing::Test {
 protected:
  void SetUp() override {
#if defined(__SANITIZE_ADDRESS__)
    GTEST_SKIP() << "the sanitizers' own fatal-signal handling stands in the way";
#endif
    dir_ = fs::temp_directory_path() /
           ("oemlink-crash-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    fs::remove_all(dir_);
  }

  fs::path log() const {
    return dir_ / "driver-faults.log";
  }
  std::string slurp_log() const {
    std::ifstream in(log());
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  // Runs `body` in a child whose stderr is a pipe, with the crash reporter installed; the child
  // is expected to die in it. `prepare(fd)` runs in the child on its stderr first. stderr is
  // read only after `read_after`.
  Death die_in_child(const std::function<void()>& body,
                     const std::function<void(int)>& prepare = {},
                     std::chrono::milliseconds read_after = 0ms) {
    int fds[2];
    EXPECT_EQ(::pipe2(fds, O_CLOEXEC), 0);
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::dup2(fds[1], STDERR_FILENO);
      ::close(fds[0]);
      ::close(fds[1]);
      if (prepare) prepare(STDERR_FILENO);
      install_crash_reporter(log());
      body();
      ::_exit(0);  // it was meant to die
    }
    ::close(fds[1]);
    std::this_thread::sleep_for(read_after);
    Death d;
    char buf[4096];
    for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) d.err.append(buf, n);
    ::close(fds[0]);
    ::waitpid(pid, &d.status, 0);
    return d;
  }

  fs::path dir_;
};

bool died_by(const Death& d, int sig) {
  return WIFSIGNALED(d.status) && WTERMSIG(d.status) == sig;
}

TEST_F(CrashReporterTest, ACrashOnADriversOwnThreadNamesTheDriverAndCountsTowardsQuarantine) {
  Death d = die_in_child([] {
    // This test binary plays the driver's library: its code is the driver's code.
    if (!register_driver_code("flaky", "/opt/drivers/libflaky.so",
                              reinterpret_cast<const void*>(&crash_here)))
      ::_exit(3);
    std::thread([] { crash_here(); }).join();  // no host call into the driver is under way
  });
  ASSERT_TRUE(died_by(d, SIGSEGV)) << "status " << d.status << "\n" << d.err;
  EXPECT_NE(d.err.find("oemlink: fatal SIGSEGV (11) in driver flaky (library "
                       "/opt/drivers/libflaky.so), call driver thread; the next start counts it"),
            std::string::npos)
      << d.err;
  EXPECT_EQ(d.err.find("outside any driver call"), std::string::npos) << d.err;
  const std::string faults = slurp_log();
  EXPECT_NE(faults.find(" flaky driver thread\n"), std::string::npos) << faults;
  QuarantineState s =
      DriverQuarantine(log()).judge({"flaky"}, QuarantinePolicy{.after_crashes = 1},
                                    std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count(),
                                    false)["flaky"];
  EXPECT_EQ(s.recent_crashes, 1u);
  EXPECT_TRUE(s.quarantined);
  EXPECT_EQ(s.last_call, "driver thread");
}

TEST_F(CrashReporterTest, ACrashInCodeOfNoDriverIsStillSaidToBeOutsideAnyDriverCall) {
  Death d = die_in_child([] { std::thread([] { g_no_function(); }).join(); });
  ASSERT_TRUE(died_by(d, SIGSEGV)) << d.err;
  EXPECT_NE(d.err.find("oemlink: fatal SIGSEGV (11) outside any driver call"), std::string::npos)
      << d.err;
  EXPECT_FALSE(fs::exists(log()));
}

TEST_F(CrashReporterTest, AStackOverflowInADriverCallOnAHostThreadIsReported) {
  Death d = die_in_child([] {
    DriverInstance deep;
    deep.name = "deep";
    deep.path = "/opt/drivers/libdeep.so";
    // A host thread other than the loop (an MQTT subscription's, say) calls into the driver.
    std::thread([&] {
      DriverCallFrame in_call(deep, "mqtt message", "car-3");
      recurse(0);
    }).join();
  });
  ASSERT_TRUE(died_by(d, SIGSEGV)) << d.err;
  EXPECT_NE(d.err.find("in driver deep (library /opt/drivers/libdeep.so), call mqtt message, "
                       "connection car-3"),
            std::string::npos)
      << "no report: the handler had no stack to run on\n"
      << d.err;
  EXPECT_NE(slurp_log().find(" deep mqtt message\n"), std::string::npos);
}

TEST_F(CrashReporterTest, ASecondThreadDyingWhileTheFirstReportsWaitsForTheReport) {
  // The first thread's report blocks on a full stderr pipe; meanwhile a second thread faults.
  // With the handler reset on first use (SA_RESETHAND) the second fault ended the process at
  // once, before the first thread had written its crash record.
  auto fill = [](int fd) {
    ::fcntl(fd, F_SETPIPE_SZ, 4096);
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    while (::write(fd, "x", 1) == 1) {
    }
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  };
  Death d = die_in_child(
      [] {
        DriverInstance first;
        first.name = "first";
        first.path = "/opt/drivers/libfirst.so";
        std::thread a([&] {
          DriverCallFrame in_call(first, "poll", "car-1");
          crash_here();
        });
        std::thread b([] {
          std::this_thread::sleep_for(200ms);  // the first is stuck in its report by now
          crash_here();
        });
        a.join();
        b.join();
      },
      fill, 1000ms);
  ASSERT_TRUE(died_by(d, SIGSEGV)) << d.status;
  EXPECT_NE(d.err.find("in driver first (library /opt/drivers/libfirst.so), call poll"),
            std::string::npos)
      << d.err.substr(std::min(d.err.size(), d.err.find_first_not_of('x')));
  EXPECT_NE(slurp_log().find(" first poll\n"), std::string::npos)
      << "the second thread's fault ended the process before the first's record";
  // Only the first reports: the second waited for the end.
  EXPECT_EQ(d.err.find("outside any driver call"), std::string::npos);
}

TEST(DriverCode, RegisteredOncePerNameAndLibraryAndFoundByAddress) {
  const auto here = reinterpret_cast<uintptr_t>(&recurse);
  ASSERT_TRUE(register_driver_code("lookup-a", "/opt/a.so", reinterpret_cast<const void*>(here)));
  ASSERT_TRUE(register_driver_code("lookup-a", "/opt/a.so", reinterpret_cast<const void*>(here)));
  ASSERT_TRUE(register_driver_code("lookup-b", "/opt/a.so", reinterpret_cast<const void*>(here)));
  std::vector<std::string> names;
  CrashSite site;
  for (size_t n = 0; driver_code_at(here, n, site); ++n) {
    const std::string name(site.driver, site.driver_len);
    if (name.starts_with("lookup-")) names.push_back(name);
    EXPECT_STREQ(site.call, "driver thread");
  }
  EXPECT_EQ(names, (std::vector<std::string>{"lookup-a", "lookup-b"}));
  // Not code of any loaded object: nothing is registered, nothing found.
  int on_stack = 0;
  EXPECT_FALSE(register_driver_code("stack", "/opt/s.so", &on_stack));
  EXPECT_FALSE(driver_code_at(reinterpret_cast<uintptr_t>(&on_stack), 0, site));
  EXPECT_FALSE(register_driver_code("null", "/opt/n.so", nullptr));
}

}  // namespace
}  // namespace oemlink::host
