// RemoteDriver: a driver entry with `isolation: process`, as the host sees it. The host gets an
// ordinary oemlink_driver descriptor and instance; behind them, every call travels to the
// driver's own process (oemlink-driver-process) and every host service the driver calls comes
// back over the same channel to the host table the instance was created with. Nothing else in
// the host knows the difference.
//
// When the process dies (a crash, or the host killing it for hanging), the host side:
//  - fails what the driver owed: polls in flight end with RETRY (the scheduler backs off and
//    polls again), streams end (the host restarts them), webhooks waiting for their answer get
//    503 with Retry-After (senders retry), link exchanges end with RETRY;
//  - keeps every event the driver emitted: emit is a synchronous call, so an event the driver
//    was told was taken is already in the host's pipeline when it hears OK;
//  - restarts the process after a back-off (1 s, doubling to 1 min; reset after a minute up),
//    creates the instance with the same settings and re-opens every open connection.
// Both are counted (oemlink_driver_events_total{name="process_exits"|"process_restarts"}).
//
// Threading: the descriptor's calls keep the ABI's rules; the channel's reader thread delivers
// the driver's service calls and completions to the host table, which accepts any thread.
#pragma once

#include <oemlink/driver.h>

#include <chrono>
#include <filesystem>
#include <string>

namespace oemlink::isolation {

struct RemoteDriverOptions {
  std::string name;               // the driver entry's name, for logs and the process's argv
  std::filesystem::path library;  // the driver's shared library (loaded by the child)
  std::filesystem::path program;  // oemlink-driver-process
  // How long a call the host waits on (create, open, close, stream start/stop, a webhook's
  // hand-over) may take before the process is taken for hung and killed.
  // Drivers must never block, so this is short: a hung process would stall the caller (often the
  // host's loop) for this long before it is killed.
  std::chrono::milliseconds call_timeout{5'000};
  std::chrono::milliseconds first_restart_delay{1'000};
  std::chrono::milliseconds max_restart_delay{60'000};
};

// The descriptor the host uses for `real` run out of process: the same name, version,
// capabilities and settings table, with calls that go to the child. Lives for the process.
const oemlink_driver* remote_descriptor(const oemlink_driver* real);
bool is_remote_descriptor(const oemlink_driver* d);

// Starts the process, which loads `options.library` itself, and creates the instance in it, as the
// driver's own create would in the host.
oemlink_status create_remote_instance(const RemoteDriverOptions& options, const oemlink_host* host,
                                      oemlink_str settings_json, oemlink_instance** out, char* err,
                                      size_t err_cap);

// Kills the instance's process so that it is restarted (a hung driver); `why` goes to the log.
void restart_remote_instance(oemlink_instance* instance, const std::string& why);

// The process id serving `instance` now (-1 while it is being restarted); for tests and status.
long remote_instance_pid(oemlink_instance* instance);

}  // namespace oemlink::isolation
