// oemlink-driver-process: hosts one driver instance in a process of its own, for a driver entry
// with `isolation: process`. Started by the host only, as
//   oemlink-driver-process --name NAME --library PATH
// with the channel to the host on fd 3. It loads the library through the host's loader (same
// ABI checks), then serves the host's calls until the host destroys the instance or goes away.
#include "core/isolation/child_crash_line.hpp"
#include "core/isolation/child_host.hpp"
#include "core/loader/driver_library.hpp"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>

namespace {

constexpr int kChannelFd = 3;

int usage() {
  std::fputs(
      "usage: oemlink-driver-process --name NAME --library PATH\n"
      "Started by oemlink for a driver with `isolation: process`, with its channel on fd 3;\n"
      "not meant to be run by hand.\n",
      stderr);
  return 2;
}

// The driver's memory holds OAuth tokens: no core file, no ptrace by the same user, and the
// process ends with its host.
void harden(pid_t parent) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) _exit(1);  // the host died before PDEATHSIG was set
  rlimit none{0, 0};
  ::setrlimit(RLIMIT_CORE, &none);
  ::prctl(PR_SET_DUMPABLE, 0);
  // A terminal's Ctrl-C or a service manager's SIGTERM reaches the whole group: only the host
  // decides when this process ends (it destroys the instance, then closes the channel).
  std::signal(SIGINT, SIG_IGN);
  std::signal(SIGTERM, SIG_IGN);
  std::signal(SIGHUP, SIG_IGN);
  std::signal(SIGPIPE, SIG_IGN);
  ::close_range(kChannelFd + 1, ~0U, 0);
}

}  // namespace

int main(int argc, char** argv) {
  pid_t parent = ::getppid();
  std::string name, library;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--name") == 0)
      name = argv[i + 1];
    else if (std::strcmp(argv[i], "--library") == 0)
      library = argv[i + 1];
    else
      return usage();
  }
  if (name.empty() || library.empty() || argc != 5) return usage();
  if (::fcntl(kChannelFd, F_GETFD) < 0) {
    std::fprintf(stderr, "oemlink-driver-process: no channel on fd %d\n", kChannelFd);
    return 2;
  }
  harden(parent);
  static std::string s_name = name, s_library = library;
  oemlink::isolation::install_child_crash_reporter(s_name.c_str(), s_library.c_str());
  const oemlink_driver* d = nullptr;
  try {
    d = oemlink::loader::load_driver_library(library).descriptor;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "oemlink-driver-process %s: %s\n", name.c_str(), e.what());
    return 4;
  }
  // Not destroyed on the way out: a driver's own threads may still be calling its host table;
  // the process simply ends.
  auto* host = new oemlink::isolation::ChildHost(kChannelFd, d, name);
  int rc = host->run();
  std::fflush(nullptr);
  _exit(rc);
}
