// A SIGINT or SIGTERM that arrives while the daemon is still starting (loading config, opening
// the vault and outbox, creating drivers) would otherwise meet the default action and kill the
// process with nothing flushed: `systemctl stop` right after a start, or a supervisor's restart.
// `run` records such a signal from its first instruction; the runtime's own signal handling,
// once installed, asks whether one came and stops gracefully.
#pragma once

namespace oemlink {

// Installs a handler for SIGINT and SIGTERM that only records the signal (async-signal-safe).
void record_early_stop_signals();
// The signal recorded so far, or 0.
int early_stop_signal();

}  // namespace oemlink
