// ReadinessCheck: the /readyz decision, a pure function of a host::RuntimeHealth snapshot (its
// clock readings included), so every rule is tested with made-up snapshots and no waiting.
//
// Ready when the config is loaded (start() finished and no shutdown has begun), the vault is
// open, the outbox's last commit succeeded, and every sink has delivered within its staleness or
// has nothing waiting. A sink that has not delivered since start counts from the start. Not
// ready either while our wall clock is more than a minute off true time (check "clock"; the skew
// is learnt from HTTPS Date headers): readings are still taken, but an operator must fix NTP.
#pragma once

#include "core/host/runtime_health.hpp"

#include <chrono>
#include <string>
#include <vector>

namespace oemlink::ops {

struct ReadinessFailure {
  std::string check;   // "config", "shutdown", "vault", "outbox", "sink", "clock"
  std::string sink;    // the sink's name for check "sink", else empty
  std::string reason;  // for an operator: "12 events waiting, last delivery 6m ago (staleness 5m)"
};

struct Readiness {
  bool ready = false;
  std::vector<ReadinessFailure> failing;  // empty when ready

  // {"ready":true} or {"ready":false,"failing":[{"check":"sink","sink":"dimo","reason":"…"}]}
  std::string to_json() const;
};

class ReadinessCheck {
 public:
  Readiness evaluate(const host::RuntimeHealth& health) const;
};

// "850ms", "12s", "2.5s", "6m", "6m30s", "1h5m": how long, as an operator reads it.
std::string human_duration(std::chrono::milliseconds d);

}  // namespace oemlink::ops
