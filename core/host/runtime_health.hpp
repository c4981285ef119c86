// RuntimeHealth: what readiness (/readyz, core/ops) is decided from, as one plain snapshot the
// Runtime fills on request. Plain data, so the decision (ops::ReadinessCheck) is a pure function
// tested with made-up snapshots and a fake clock.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace oemlink::host {

struct SinkHealth {
  std::string name;
  std::chrono::milliseconds staleness{300'000};  // sinks[].staleness
  uint64_t pending = 0;  // events read from the outbox and not yet delivered (retries included)
  uint64_t delivered = 0;
  // HostClock::steady_ms() of the last acknowledged delivery; 0: none since start.
  int64_t last_delivered_steady_ms = 0;
  // When its dispatcher started (later than the daemon for a sink a reload added or changed);
  // 0: unknown, the daemon's start counts.
  int64_t started_steady_ms = 0;
};

struct RuntimeHealth {
  int64_t now_steady_ms = 0;
  int64_t started_steady_ms = 0;  // when start() finished; a sink that never delivered counts
                                  // from here
  // start() completed with the config from `config_source` and run() has not begun to stop.
  bool config_loaded = false;
  std::string config_source;
  bool stopping = false;
  bool vault_open = false;  // the key vault was opened (in process, or keyd answered) at start
  // No sink configured: no outbox, nothing to write; the outbox checks pass.
  bool outbox_present = false;
  bool outbox_failing = false;  // the outbox writer's last commit failed (it keeps retrying)
  uint64_t outbox_consecutive_failures = 0;
  std::string outbox_error;  // SQLite's message, no record data
  std::vector<SinkHealth> sinks;
  // Our wall clock minus true time (ms), from HTTPS Date headers; nullopt: no estimate yet.
  std::optional<int64_t> clock_skew_ms;
};

}  // namespace oemlink::host
