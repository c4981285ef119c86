#include "core/isolation/child_process.hpp"

#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <thread>
#include <vector>

extern char** environ;

namespace oemlink::isolation {
namespace {

// What a driver's process may inherit: locale, time zone, temp dir and the sanitizer and loader
// settings tests run with. Nothing named OEMLINK_*: that is where KEKs and admin tokens live.
bool inherited(std::string_view entry) {
  static constexpr std::string_view kAllowed[] = {
      "PATH=",      "HOME=",         "LANG=",          "LC_",           "TZ=",
      "TMPDIR=",    "ASAN_OPTIONS=", "UBSAN_OPTIONS=", "LSAN_OPTIONS=", "LD_LIBRARY_PATH=",
      "FAKETIME",  // libfaketime's settings, so a test's stepped clock reaches the child
      "LD_PRELOAD="};
  for (std::string_view a : kAllowed)
    if (entry.starts_with(a)) return true;
  return false;
}

std::filesystem::path exe_dir() {
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::filesystem::path() : self.parent_path();
}

}  // namespace

std::filesystem::path find_driver_process_program() {
  namespace fs = std::filesystem;
  std::vector<fs::path> candidates;
  if (const char* env = std::getenv("OEMLINK_DRIVER_PROCESS"); env && *env) return env;
  fs::path dir = exe_dir();
  if (!dir.empty()) {
    candidates.push_back(dir / "oemlink-driver-process");
    candidates.push_back(dir / ".." / "libexec" / "oemlink" / "oemlink-driver-process");
  }
#ifdef OEMLINK_DRIVER_PROCESS_BUILD_PATH
  candidates.push_back(OEMLINK_DRIVER_PROCESS_BUILD_PATH);
#endif
  for (const fs::path& p : candidates) {
    std::error_code ec;
    if (fs::is_regular_file(p, ec) && ::access(p.c_str(), X_OK) == 0) return p;
  }
  return {};
}

SpawnedChild spawn_driver_process(const std::filesystem::path& program, const std::string& name,
                                  const std::filesystem::path& library) {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
    throw std::runtime_error(std::string("cannot make a socket pair for the driver process: ") +
                             std::strerror(errno));
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&fa);
  posix_spawnattr_init(&attr);
  // dup2 onto 3 clears close-on-exec for that one descriptor only.
  posix_spawn_file_actions_adddup2(&fa, sv[1], 3);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  std::vector<std::string> env_copy;
  for (char** e = environ; e && *e; ++e)
    if (inherited(*e)) env_copy.emplace_back(*e);
  std::vector<char*> envp;
  for (std::string& s : env_copy) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::string prog = program.string(), lib = library.string(), nm = name;
  std::string a_name = "--name", a_lib = "--library";
  char* argv[] = {prog.data(), a_name.data(), nm.data(), a_lib.data(), lib.data(), nullptr};

  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, prog.c_str(), &fa, &attr, argv, envp.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  ::close(sv[1]);
  if (rc != 0) {
    ::close(sv[0]);
    throw std::runtime_error("cannot start the driver process " + prog + ": " + std::strerror(rc));
  }
  return {pid, sv[0]};
}

std::string reap_child(pid_t pid, std::chrono::milliseconds grace) {
  int status = 0;
  auto deadline = std::chrono::steady_clock::now() + grace;
  for (;;) {
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (r < 0 && errno != EINTR)
      return "could not be waited for (" + std::string(std::strerror(errno)) + ")";
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(pid, SIGKILL);
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        return "did not end within " + std::to_string(grace.count()) + " ms and was killed";
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    const char* abbrev = ::sigabbrev_np(sig);
    return "was killed by SIG" + std::string(abbrev ? abbrev : "?") + " (" + std::to_string(sig) +
           ")";
  }
  return "ended";
}

}  // namespace oemlink::isolation
