// A SIGINT or SIGTERM that arrives while the daemon is still starting (loading config, opening
// the vault and outbox, creating drivers) would otherwise meet the default action and kill the
// process with nothing flushed: `systemctl stop` right after a start, or a supervisor's restart.
// `run` records such a signal from its first instruction; the runtime's own signal handling,
// once installed, asks whether one came and stops gracefully.
#pragma once

namespace oemlink {

// Installs a handler for SIGINT and SIGTERM that only records the signal (async-signal-safe), and
// one for SIGHUP (a reload asked for while starting: its default action would kill the process)
// that records the request.
void record_early_stop_signals();
// The signal recorded so far, or 0.
int early_stop_signal();
// Whether a SIGHUP came since record_early_stop_signals (the runtime reloads once it runs).
bool early_reload_requested();

}  // namespace oemlink
