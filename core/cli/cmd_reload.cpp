// `oemlink reload`: validate a configuration here, then have the running daemon re-read its own.
#include "core/cli/commands.hpp"
#include "core/cli/driver_check.hpp"
#include "core/common/data_dir.hpp"
#include "core/host/data_dir_lock.hpp"
#include "core/host/status_snapshot.hpp"

#include <CLI/CLI.hpp>

#include <signal.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <thread>

namespace oemlink::cli {
namespace {

constexpr const char* kReloadDetails =
    R"(Checks FILE exactly as check-config does (same output; nothing is signalled when it is not
valid), finds the daemon running on its data_dir (the pid in the data dir's lock file), sends it
SIGHUP and waits for the outcome it records in status.json, which is printed. The daemon re-reads
the file it was started with, so FILE should be that file. Connections, sinks and logging.level
change live; a change to anything else (data_dir, vault, drivers, listeners, ...) refuses the
whole reload, naming it, and the running configuration stays.
Exit status: 0 applied, 1 invalid, refused, failed, timed out or no daemon, 2 usage error.)";

struct ReloadOptions {
  std::string config;
  int timeout_s = 30;
};

// The last reload the daemon `pid` recorded, or 0 (none yet, or another process's status).
uint64_t last_reload_number(const std::filesystem::path& status, pid_t pid) {
  try {
    auto st = host::read_status_file(status);
    if (st && st->pid == pid && st->reload) return st->reload->number;
  } catch (const host::StatusFileError&) {
    // Mid-replacement reads are atomic (rename); a corrupt file is reported by the wait below.
  }
  return 0;
}

int reload(const ReloadOptions& o) {
  if (int rc = check_config(o.config); rc != kExitOk) return rc;
  const config::Config cfg = load_config_or_default(o.config);
  const DataDir dir(cfg.data_dir);
  const pid_t pid = host::DataDirLock::holder(dir);
  if (pid <= 0) {
    std::fprintf(stderr, "oemlink reload: no daemon runs on %s (its lock is not held)\n",
                 cfg.data_dir.c_str());
    return kExitFailure;
  }
  // The lock may be held by a command that changes the data dir (keys, deadletter purge): only a
  // daemon that says it runs in status.json is signalled.
  std::optional<host::StatusSnapshot> st;
  try {
    st = host::read_status_file(dir.status_json());
  } catch (const host::StatusFileError& e) {
    std::fprintf(stderr, "oemlink reload: %s\n", e.what());
    return kExitFailure;
  }
  if (!st || st->pid != pid || !st->running) {
    std::fprintf(stderr,
                 "oemlink reload: %s is held by pid %d, which is not a running daemon according "
                 "to %s (still starting, or another oemlink command); nothing signalled\n",
                 cfg.data_dir.c_str(), static_cast<int>(pid), dir.status_json().c_str());
    return kExitFailure;
  }
  const uint64_t before = st->reload ? st->reload->number : 0;
  if (::kill(pid, SIGHUP) != 0) {
    std::fprintf(stderr, "oemlink reload: cannot signal pid %d: %s\n", static_cast<int>(pid),
                 std::strerror(errno));
    return kExitFailure;
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(o.timeout_s);
  while (std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // polling a file another
                                                                 // process writes
    if (last_reload_number(dir.status_json(), pid) <= before) continue;
    auto now = host::read_status_file(dir.status_json());
    const host::ReloadSnapshot& r = *now->reload;
    std::printf("%s\n", r.summary.c_str());
    for (const std::string& e : r.errors) std::fprintf(stderr, "%s\n", e.c_str());
    return r.outcome == "applied" ? kExitOk : kExitFailure;
  }
  std::fprintf(stderr,
               "oemlink reload: pid %d was signalled but recorded no reload within %d s; see its "
               "log\n",
               static_cast<int>(pid), o.timeout_s);
  return kExitFailure;
}

}  // namespace

void add_reload_command(CommandLine& cli) {
  auto o = std::make_shared<ReloadOptions>();
  CLI::App* cmd = cli.add_command(
      cli.app(), "reload", "validate the configuration, then have the running daemon apply it live",
      kReloadDetails);
  add_config_option(*cmd, o->config,
                    "the configuration the daemon runs (default: the built-in one)");
  cmd->add_option("--timeout", o->timeout_s, "seconds to wait for the daemon's outcome (30)")
      ->type_name("S")
      ->check(CLI::Range(1, 3600));
  cli.on(cmd, [o] { return reload(*o); });
}

}  // namespace oemlink::cli
