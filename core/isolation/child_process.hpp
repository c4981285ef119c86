// ChildProcess: starting and ending a driver's process. The child gets the channel as fd 3,
// nothing else of the host's: every other descriptor is close-on-exec or closed by the child,
// signals are back at their defaults, and the environment is a short allow-list, so a KEK or
// token the host was given in its environment never reaches a driver.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <string>

namespace oemlink::isolation {

// The program that hosts a driver in a process of its own: $OEMLINK_DRIVER_PROCESS, else
// oemlink-driver-process beside the running executable, in <exe dir>/../libexec/oemlink, or
// where this build put it. Empty when none exists.
std::filesystem::path find_driver_process_program();

struct SpawnedChild {
  pid_t pid = -1;
  int channel_fd = -1;  // the host's end
};

// Starts `program --name NAME --library PATH` with its end of a new socket pair as fd 3.
// Throws std::runtime_error naming the program and the cause.
SpawnedChild spawn_driver_process(const std::filesystem::path& program, const std::string& name,
                                  const std::filesystem::path& library);

// Waits up to `grace` for `pid` to end, then kills it (SIGKILL) and waits. Returns how it ended,
// in words: "exited with status 3", "was killed by SIGSEGV (11)".
std::string reap_child(pid_t pid, std::chrono::milliseconds grace);

}  // namespace oemlink::isolation
