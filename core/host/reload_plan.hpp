// ReloadPlan: what a reload (SIGHUP, `oemlink reload`) would change, decided from the running
// configuration and the newly read one before anything is touched.
//
// Live: drivers and sinks (added, removed, changed: by name) and logging.level. A changed driver
// entry (any field: library, settings, limits, mode) is a new instance that replaces the old one
// (runtime_drivers.cpp). Connections are live too, but they are compared against the connection
// store, not here (the running Config no longer holds them: runtime_connections.cpp drops them
// once reconciled).
// Not live, named in the refusal: data_dir, vault, data_kek, outbox, http, schedule, dimo,
// linking, logging.format, logging.file, each listener, and a change from no sinks to
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
  std::vector<std::string> drivers_added, drivers_removed, drivers_changed;
  std::optional<std::string> logging_level;  // set when it changed
  bool refused() const { return !not_live.empty(); }
  // Nothing the plan itself applies (connections may still change).
  bool empty() const {
    return sinks_added.empty() && sinks_removed.empty() && sinks_changed.empty() &&
           !logging_level && !drivers_changed_any();
  }
  bool drivers_changed_any() const {
    return !drivers_added.empty() || !drivers_removed.empty() || !drivers_changed.empty();
  }
};

ReloadPlan plan_reload(const config::Config& running, const config::Config& next);

// "reload refused: data_dir, vault cannot change while running; restart to apply"
std::string refusal_line(const ReloadPlan& plan);

}  // namespace oemlink::host
