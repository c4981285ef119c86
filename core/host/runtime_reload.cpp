// Runtime::reload: SIGHUP (and `oemlink reload`) re-read the configuration the daemon runs.
//
// Order, so that a reload either applies whole or changes nothing:
//   1. read and validate exactly as check-config does (load, then check_drivers): any error
//      refuses it, with check-config's lines;
//   2. plan (reload_plan.hpp): any setting that cannot change live refuses it, named;
//   3. build the new sinks' deliverers (one that cannot be built refuses it);
//   4. create the added and changed drivers' new instances (a create that fails refuses it,
//      unless the entry says on_load_error: skip);
//   5. reconcile the YAML's connections into the store (one transaction; a store failure
//      refuses it);
//   -- from here on it applies --
//   6. drivers: replaced and removed instances are retired, new ones take their lanes and
//      webhook routes (runtime_drivers.cpp);
//   7. connections: removed ones are withdrawn (no new polls; closed once their poll in flight
//      has completed and its events are durable; tokens and key child kept), changed ones are
//      withdrawn the same way and then served again from their new row, new ones are served;
//      a changed driver's connections move to its new instance, a removed driver's stop;
//   8. sinks: changed ones restart at their cursor, added ones start at the newest record,
//      removed ones stop after writing their acknowledgements;
//   9. logging.level.
// Everything runs on the loop: reads of a config file, a driver library check and one store
// transaction are short (a reload of a million YAML connections is not: it holds the loop for
// the reconcile, as a start does).
#include "core/common/data_dir.hpp"
#include "core/common/service_notifier.hpp"
#include "core/host/connection_lifecycle.hpp"
#include "core/host/driver_check.hpp"
#include "core/host/pipeline_assembly.hpp"
#include "core/host/reload_plan.hpp"
#include "core/host/runtime.hpp"
#include "core/host/status_writer.hpp"
#include "core/store/connection_store.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>

#include <algorithm>
#include <csignal>
#include <sstream>

namespace oemlink::host {
namespace {

// oemlink_reloads_total{outcome}: `applied`, `refused` (nothing changed) or `failed` (part way).
void count_reload(MetricsRegistry& metrics, const char* outcome) {
  metrics
      .counter("oemlink_reloads_total",
               "Configuration reloads (SIGHUP, oemlink reload) by outcome: applied, refused "
               "(nothing changed), failed (part way)",
               {{"outcome", outcome}})
      .add();
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(line);
  if (out.empty()) out.push_back(text);
  return out;
}

std::string plural(size_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

}  // namespace

void Runtime::wait_for_hangup() {
  hangups_->async_wait([this](const boost::system::error_code& ec, int) {
    if (ec || stopping_) return;
    spdlog::info("signal SIGHUP received: reloading {}", cfg_.source.string());
    request_reload();
    wait_for_hangup();
  });
}

void Runtime::request_reload() {
  if (reload_pending_.exchange(true)) return;  // coalesced into the one waiting to run
  boost::asio::post(io_, [this] {
    reload_pending_ = false;  // a request from here on reads the file again after this one
    if (!stopping_) reload();
  });
}

// Step 1: check-config's load and driver checks. Returns their error lines (empty: valid).
std::vector<std::string> Runtime::read_for_reload(config::Config& next,
                                                  DriverCheckReport& drivers) {
  try {
    next = opts_.reload_config ? opts_.reload_config() : config::load_config_file(cfg_.source);
  } catch (const std::exception& e) {
    return lines_of(e.what());
  }
  for (const std::string& w : next.warnings) spdlog::warn("reload: {}", w);
  drivers = check_drivers(next, opts_.plugin_dirs);
  for (const std::string& w : drivers.warnings) spdlog::warn("reload: {}", w);
  return drivers.errors;
}

void Runtime::reload() {
  // systemd (Type=notify) hears RELOADING=1 now and READY=1 in finish_reload, taken or refused.
  ServiceNotifier::reloading();
  ReloadSnapshot r;
  r.number = ++reloads_;
  config::Config next;
  DriverCheckReport checked;
  std::vector<std::string> errors = read_for_reload(next, checked);
  ReloadPlan plan;
  std::vector<std::string> revived;  // quarantined until now, cleared since
  if (errors.empty()) {
    plan = plan_reload(cfg_, next);
    if (plan.refused()) errors.push_back(refusal_line(plan));
  }
  if (errors.empty()) revived = revive_cleared(next, plan, checked);
  PipelineAssembly::SinkChanges sinks;
  if (errors.empty()) {
    try {
      sinks = assembly_->prepare_sinks(next.sinks, plan.sinks_added, plan.sinks_removed,
                                       plan.sinks_changed);
    } catch (const std::exception& e) {
      errors.push_back(e.what());
    }
  }
  std::vector<DriverInstance*> created;
  if (errors.empty() && plan.drivers_changed_any())
    errors = create_reloaded_drivers(plan, checked, created);
  store::ReconcileReport reconciled;
  if (errors.empty()) {
    try {
      reconciled = store_->reconcile_config(next.connections, clock_.wall_ms(), true);
    } catch (const std::exception& e) {
      errors.push_back(std::string("connection store: ") + e.what());
      let_go_of(created);
    }
  }
  if (!errors.empty()) {
    r.outcome = "refused";
    r.errors = std::move(errors);
    r.summary = r.errors.size() == 1 && r.errors[0].starts_with("reload refused")
                    ? r.errors[0]
                    : "reload refused: the configuration is not valid; the running one stays";
    spdlog::error("reload of {} refused; the running configuration stays:\n{}",
                  cfg_.source.string(), join_lines(r.errors));
    count_reload(metrics_, "refused");
    finish_reload(std::move(r));
    return;
  }

  // Applying. A failure from here on (a store or outbox write) leaves it partly applied: said so.
  size_t refused = reconciled.refused.size();
  for (size_t i = 0; i < reconciled.refused.size(); ++i) {
    const config::ConnectionConfig& cc = next.connections[reconciled.refused_at[i]];
    spdlog::error("reload: connection {} ({}:{}) not served: {}", cc.id, cc.position.file,
                  cc.position.line, reconciled.refused[i]);
    conns_open_failed_.add();
  }
  std::vector<std::string> failures;
  MovedConnections moved;
  try {
    const std::vector<DriverInstance*> retired = swap_drivers(plan, created);
    std::set<std::string, std::less<>> handled;
    for (const std::string& id : reconciled.removed_ids) {
      handled.insert(id);
      awaiting_serve_.erase(id);  // a change still waiting is called off: the row is gone
      withdraw_leaving(id);
    }
    for (const std::string& id : reconciled.updated_ids) {
      handled.insert(id);
      withdraw_and_serve_again(id, "re-opened with its new settings");
    }
    handled.insert(reconciled.inserted_ids.begin(), reconciled.inserted_ids.end());
    moved = move_connections(plan, retired, handled);
    for (const std::string& id : reconciled.inserted_ids) {
      if (closing_.count(id)) {  // its removed record is still busy: served once it is idle
        awaiting_serve_.insert(id);
        continue;
      }
      if (!serve_stored(id, "added")) ++refused;
    }
    assembly_->apply_sinks(std::move(sinks));
  } catch (const std::exception& e) {
    failures.push_back(e.what());
  }
  cfg_.sinks = next.sinks;
  cfg_.drivers = next.drivers;
  cfg_.quarantine = next.quarantine;
  hung_budget_.set(cfg_.quarantine.after_hung_polls, cfg_.quarantine.hung_window.count());
  if (plan.logging_level) {
    spdlog::default_logger()->set_level(spdlog::level::from_str(*plan.logging_level));
    cfg_.logging.level = *plan.logging_level;
  }

  std::string summary = "reload: ";
  std::vector<std::string> parts;
  if (!reconciled.inserted_ids.empty())
    parts.push_back("+" + plural(reconciled.inserted_ids.size(), "connection", "connections"));
  if (!reconciled.removed_ids.empty())
    parts.push_back("-" + plural(reconciled.removed_ids.size(), "connection", "connections"));
  if (!reconciled.updated_ids.empty())
    parts.push_back(plural(reconciled.updated_ids.size(), "connection", "connections") +
                    " changed");
  auto was_revived = [&](const std::string& n) {
    return std::find(revived.begin(), revived.end(), n) != revived.end();
  };
  for (const auto& n : plan.drivers_added)
    if (!was_revived(n)) parts.push_back("driver " + n + " added");
  for (const auto& n : plan.drivers_removed) parts.push_back("driver " + n + " removed");
  for (const auto& n : plan.drivers_changed)
    if (!was_revived(n)) parts.push_back("driver " + n + " changed");
  for (const auto& n : revived) parts.push_back("driver " + n + " unquarantined");
  if (moved.moved) parts.push_back(plural(moved.moved, "connection", "connections") + " moved");
  if (moved.stopped)
    parts.push_back(plural(moved.stopped, "connection", "connections") + " stopped");
  for (const auto& n : plan.sinks_added) parts.push_back("sink " + n + " added");
  for (const auto& n : plan.sinks_removed) parts.push_back("sink " + n + " removed");
  for (const auto& n : plan.sinks_changed) parts.push_back("sink " + n + " changed");
  if (plan.logging_level) parts.push_back("logging.level " + *plan.logging_level);
  if (parts.empty()) parts.push_back("no changes");
  parts.push_back(std::to_string(refused) + " refused");
  for (size_t i = 0; i < parts.size(); ++i) summary += (i ? ", " : "") + parts[i];
  r.summary = summary;
  if (failures.empty()) {
    r.outcome = "applied";
    spdlog::info("{}", summary);
    count_reload(metrics_, "applied");
  } else {
    r.outcome = "failed";
    r.errors = std::move(failures);
    spdlog::error("{}; failed part way, restart to be sure of the configuration: {}", summary,
                  join_lines(r.errors));
    count_reload(metrics_, "failed");
  }
  finish_reload(std::move(r));
}

// Quarantine is judged again for the new configuration: a driver quarantined until now whose
// quarantine an operator cleared (`oemlink plugins unquarantine`) is created again, as a changed
// driver is (its unserved records move to it) or, when it was let go of while running, as an
// added one (its rows are served).
std::vector<std::string> Runtime::revive_cleared(const config::Config& next, ReloadPlan& plan,
                                                 DriverCheckReport& checked) {
  const auto still = apply_quarantine(checked, next.quarantine);
  std::vector<std::string> revived;
  auto planned = [&](const std::string& n) {
    return std::find(plan.drivers_added.begin(), plan.drivers_added.end(), n) !=
               plan.drivers_added.end() ||
           std::find(plan.drivers_changed.begin(), plan.drivers_changed.end(), n) !=
               plan.drivers_changed.end();
  };
  for (const config::DriverConfig& dc : next.drivers) {
    const DriverInstance* cur = drivers_.latest(dc.name);
    if (!cur || !cur->quarantined || still.count(dc.name) || planned(dc.name)) continue;
    (cur->retired ? plan.drivers_added : plan.drivers_changed).push_back(dc.name);
    revived.push_back(dc.name);
  }
  return revived;
}

void Runtime::withdraw_leaving(const std::string& id) {
  closing_.insert(id);
  const bool was_live = control_->withdraw(id, [this, id] {
    boost::asio::post(io_, [this, id] {
      closing_.erase(id);
      // Re-added by a later reload while this record was still busy: served now.
      if (stopping_ || !awaiting_serve_.erase(id)) return;
      serve_stored(id, "added");
    });
  });
  if (was_live) spdlog::info("reload: connection {} removed", id);
}

void Runtime::withdraw_and_serve_again(const std::string& id, const char* what) {
  // Served again once the old record's poll in flight has completed; a change made while an
  // earlier one still waits is picked up by it (it reads the row then).
  if (!awaiting_serve_.insert(id).second) return;
  control_->withdraw(id, [this, id, what] {
    boost::asio::post(io_, [this, id, what] {
      if (stopping_ || !awaiting_serve_.erase(id)) return;
      serve_stored(id, what);
    });
  });
}

// The row as the store has it now (a later reload may have removed it: then nothing).
bool Runtime::serve_stored(const std::string& id, const char* what) {
  // Also runs from a posted completion, where an exception would reach io_.run() and end the
  // daemon: a store that cannot be read fails this connection, named, not the process.
  std::optional<store::StoredConnection> row;
  try {
    row = store_->get(id);
  } catch (const std::exception& e) {
    spdlog::error("reload: connection {} not served: connection store: {}", id, e.what());
    conns_open_failed_.add();
    return false;
  }
  if (!row) return true;
  if (std::string why = control_->serve(*row); !why.empty()) {
    spdlog::error("reload: connection {} not served: {}", id, why);
    conns_open_failed_.add();
    return false;
  }
  spdlog::info("reload: connection {} {} (driver {}, key child {})", id, what, row->driver,
               row->key_child);
  return true;
}

void Runtime::finish_reload(ReloadSnapshot r) {
  r.at_ms = clock_.wall_ms();
  last_reload_ = std::move(r);
  ServiceNotifier::ready("reload " + last_reload_->outcome);
  write_status(true);  // `oemlink reload` waits for this outcome
}

}  // namespace oemlink::host
