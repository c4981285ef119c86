// What a process that holds keys (oemlink-keyd, `oemlink run`, the key commands) does before it
// reads one, so that neither another process nor a crash can take them out of it.
#pragma once

#include <string_view>

namespace oemlink {

// No core dumps (RLIMIT_CORE 0, soft and hard) and not dumpable (PR_SET_DUMPABLE 0): a core
// would hold the KEK and keys, and a dumpable process lets every process of the same uid read
// its memory and environment through ptrace and /proc/<pid>/{mem,environ}. Call early, before
// any secret is read; a refusal is logged as a warning naming the step and the reason.
void harden_process_for_secrets();

// Removes variable `name` from the environment and overwrites its "NAME=value" text where it
// lives. unsetenv alone is not enough: /proc/<pid>/environ shows the environment block the
// process started with, for as long as it runs. Call before other threads may read the
// environment.
void scrub_environment_variable(std::string_view name);

// Overwrites the value following each `flag` ("--flag VALUE" or "--flag=VALUE") in the
// process's own argv, which /proc/<pid>/cmdline (and so `ps`) shows to every user. Only
// the bytes after the flag are cleared; argv keeps its count.
void scrub_argument_values(int argc, char** argv, std::string_view flag);

}  // namespace oemlink
