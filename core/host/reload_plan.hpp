// ReloadPlan: what a reload (SIGHUP, `oemlink reload`) would change, decided from the running
// configuration and the newly read one before anything is touched.
//
// Live: sinks (added, removed, changed: by name) and logging.level. Connections are live too,
// but they are compared against the connection store, not here (the running Config no longer
// holds them: runtime_connections.cpp drops them once reconciled).
// Not live, named in the refusal: data_dir, vault, data_kek, outbox, http, schedule, dimo,
// linking, logging.format, logging.file, each listener, drivers, and a change from no sinks to
// some or from some to none (the outbox is opened at start only when there are sinks, and the
// last sink's records would have nobody to release them). A plan with any of these is refused
// whole: the daemon never runs a mix of two configurations.
//
// Positions (file:line:column) are ignored: adding a connection moves every later line, and
// that is not a change of the sinks below it. A driver's `settings` are compared as written,
// before `${ENV}`/`${file:...}` expansion: a changed secret file behind the same text is not seen.
//
// Threading: pure; any thread.
#pragma once

#include "core/config/config.hpp"

#include <optional>
#include <string>
#include <vector>

namespace oemlink::host {

struct ReloadPlan {
  // Top-level settings (and listener or driver names) that differ and cannot change live.
  std::vector<std::string> not_live;
  std::vector<std::string> sinks_added, sinks_removed, sinks_changed;  // by name, config order
  std::optional<std::string> logging_level;                            // set when it changed
  bool refused() const { return !not_live.empty(); }
  // Nothing the plan itself applies (connections may still change).
  bool empty() const {
    return sinks_added.empty() && sinks_removed.empty() && sinks_changed.empty() && !logging_level;
  }
};

ReloadPlan plan_reload(const config::Config& running, const config::Config& next);

// "reload refused: data_dir, vault cannot change while running; restart to apply"
std::string refusal_line(const ReloadPlan& plan);

}  // namespace oemlink::host
