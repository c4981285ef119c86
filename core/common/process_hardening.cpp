#include "core/common/process_hardening.hpp"

#include <spdlog/spdlog.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "core/common/secure_wipe.hpp"

extern char** environ;

namespace oemlink {

void harden_process_for_secrets() {
  const rlimit no_core{0, 0};
  if (::setrlimit(RLIMIT_CORE, &no_core) != 0) {
    spdlog::warn("process hardening: cannot set RLIMIT_CORE to 0 ({}); a crash may dump keys",
                 std::strerror(errno));
  }
  if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
    spdlog::warn(
        "process hardening: cannot clear PR_SET_DUMPABLE ({}); processes of this uid "
        "may read key memory",
        std::strerror(errno));
  }
}

void scrub_environment_variable(std::string_view name) {
  if (name.empty() || name.find('=') != std::string_view::npos) return;
  // Every "NAME=" entry, not only the one getenv finds: a crafted environment may hold several.
  std::vector<char*> entries;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    if (std::strncmp(*e, name.data(), name.size()) == 0 && (*e)[name.size()] == '=')
      entries.push_back(*e);
  }
  // unsetenv first: it finds the entries by their names. It only drops the pointers, so the
  // strings stay valid to wipe afterwards.
  ::unsetenv(std::string(name).c_str());
  for (char* entry : entries) secure_wipe(entry, std::strlen(entry));
}

void scrub_argument_values(int argc, char** argv, std::string_view flag) {
  for (int i = 1; i < argc; ++i) {
    char* arg = argv[i];
    if (arg == nullptr) continue;
    const size_t len = std::strlen(arg);
    if (flag == arg && i + 1 < argc && argv[i + 1] != nullptr) {
      ++i;
      secure_wipe(argv[i], std::strlen(argv[i]));
    } else if (len > flag.size() && std::strncmp(arg, flag.data(), flag.size()) == 0 &&
               arg[flag.size()] == '=') {
      secure_wipe(arg + flag.size() + 1, len - flag.size() - 1);
    }
  }
}

}  // namespace oemlink
