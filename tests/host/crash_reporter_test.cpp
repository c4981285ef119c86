// The fatal-signal handler itself, in a forked child that dies: a second thread dying while the
// first reports waits instead of ending the process unreported.
#include "core/host/driver_call_frame.hpp"
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

[[gnu::noinline]] void crash_here() {
  *g_nowhere = 1;
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

}  // namespace
}  // namespace oemlink::host
