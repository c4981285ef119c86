// A reload's drivers: added, removed and changed driver entries take effect live.
//
// A changed entry (any field) is a new instance beside the old one, never the old one altered:
// the old instance keeps its connections, polls and callbacks until each has finished, while
// the new one takes over by name. In order:
//   1. create: every added and changed driver is created before anything applies, so a driver
//      whose create fails refuses the reload (unless on_load_error: skip) with nothing changed;
//   2. swap: the old instances are retired (DriverSet::find passes over them, so every lookup
//      by name - the lifecycle's serve, the link flow, webhook routes - reaches the new one),
//      the new ones get their scheduler lane and driver-wide stream, and their webhook route
//      points at them. A changed driver's webhooks are answered 503 (senders retry) until its
//      connections have moved, so no delivery meets an instance that does not know its car;
//   3. move: each connection of a retired instance is withdrawn as a changed YAML connection
//      is (no new polls; closed once its poll in flight completed and its events are durable)
//      and served again from its row by the new instance; a removed driver's connections stop
//      (their rows, tokens and key children are kept: a driver added back serves them again);
//   4. retire: once an old instance has no open connection and no poll with it, it is drained
//      (its timers fire as cancelled, new HTTP requests, timers and subscriptions are refused),
//      and destroyed once every callback it was owed has run and no lease holds it (a link flow,
//      a webhook exchange). One that never gets there is kept, as a busy driver is at shutdown.
// Instances are never removed from the DriverSet: indices stay valid for records and tickets.
#include "core/host/connection_lifecycle.hpp"
#include "core/host/driver_quarantine.hpp"
#include "core/host/driver_timers.hpp"
#include "core/host/poll_dispatcher.hpp"
#include "core/host/reload_plan.hpp"
#include "core/host/runtime.hpp"
#include "core/host/webhook_routes.hpp"
#include "core/isolation/remote_driver.hpp"
#include "core/net/route_table.hpp"
#include "core/store/connection_store.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>

#include <algorithm>

namespace oemlink::host {
namespace {

// A retired instance that is still busy this long is named once (it is kept, not destroyed).
constexpr int64_t kRetireWarnMs = 60'000;
constexpr std::chrono::milliseconds kRetireCheckEvery{200};

bool contains(const std::vector<std::string>& names, std::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

}  // namespace

std::vector<std::string> Runtime::create_reloaded_drivers(const ReloadPlan& plan,
                                                          const DriverCheckReport& checked,
                                                          std::vector<DriverInstance*>& created) {
  // Scheduler lanes are 16-bit and instances are never removed: a process that replaced
  // drivers tens of thousands of times is told to restart.
  constexpr size_t kMaxInstances = 60'000;
  if (drivers_.size() + plan.drivers_added.size() + plan.drivers_changed.size() > kMaxInstances)
    return {"reload refused: drivers were replaced too often in this process; restart to apply"};
  auto timed = [this](DriverInstance& d, const char* call, int64_t ms) {
    dispatcher_->note_call(d, call, kNoConn, ms);
  };
  for (const DriverCheck& c : checked.drivers) {
    if (!contains(plan.drivers_added, c.cfg->name) && !contains(plan.drivers_changed, c.cfg->name))
      continue;
    try {
      created.push_back(&drivers_.load_one(c, services_.get(), timed));
    } catch (const std::exception& e) {
      let_go_of(created);
      return {e.what()};
    }
  }
  return {};
}

void Runtime::let_go_of(std::vector<DriverInstance*>& created) {
  for (DriverInstance* d : created) {
    drivers_.retire(*d);
    retire_when_idle(*d);
  }
  created.clear();
}

std::vector<DriverInstance*> Runtime::swap_drivers(const ReloadPlan& plan,
                                                   const std::vector<DriverInstance*>& created) {
  std::vector<DriverInstance*> retired;
  // The old instances first, so that find() by name reaches the new ones from here on.
  for (size_t i = 0; i < drivers_.size(); ++i) {
    DriverInstance& d = drivers_[i];
    if (d.retired) continue;
    if (std::find(created.begin(), created.end(), &d) != created.end()) continue;
    if (!contains(plan.drivers_changed, d.name) && !contains(plan.drivers_removed, d.name))
      continue;
    drivers_.retire(d);
    retired.push_back(&d);
  }
  for (DriverInstance* d : created) {
    // A changed driver's webhooks wait until its connections have moved (check_retiring); so
    // do those of a driver added back while the instance a reload removed still closes its
    // connections (they are served by the new one once closed).
    d->webhooks_held = contains(plan.drivers_changed, d->name) || still_moving(d->name);
  }
  for (DriverInstance* old : retired) {
    if (webhooks_ && contains(plan.drivers_removed, old->name))
      webhooks_->remove(*routes_, old->name);
    // Its driver-wide stream stops before the new one starts: two would hold one MQTT client id
    // (the second is refused), and the new one would not know the cars yet.
    dispatcher_->stop_driver_stream(*old);
    retire_when_idle(*old);
  }
  for (DriverInstance* d : created) {
    // A held instance starts its driver-wide stream with its webhooks, once it knows the cars
    // (with an MQTT persistent session the broker keeps what arrives meanwhile).
    if (d->inst) dispatcher_->driver_added(*d, /*start_stream=*/!d->webhooks_held);
    if (webhooks_) webhooks_->add(*routes_, *d);
  }
  for (auto& c : components_) c->drivers_changed();
  return retired;
}

Runtime::MovedConnections Runtime::move_connections(
    const ReloadPlan& plan, const std::vector<DriverInstance*>& retired,
    const std::set<std::string, std::less<>>& handled) {
  MovedConnections out;
  if (!retired.empty()) {
    // Per retired instance, once: does a live instance of its name serve its cars now?
    std::vector<uint8_t> is_retired(drivers_.size()), served_now(drivers_.size());
    for (DriverInstance* d : retired) {
      is_retired[d->index] = 1;
      const DriverInstance* now = drivers_.find(d->name);
      served_now[d->index] = now && !now->skipped;
    }
    std::vector<std::string> leaving, moving;
    for (uint32_t c = 0; c < conns_.size(); ++c) {
      const ConnectionRecord& r = conns_[c];
      if (!is_retired[r.instance] || r.state == ConnectionState::revoked) continue;
      if (handled.count(r.id)) continue;  // the YAML's own change for it is under way
      (contains(plan.drivers_removed, drivers_[r.instance].name) ? leaving : moving)
          .push_back(r.id);
    }
    for (const std::string& id : leaving) withdraw_leaving(id);
    out.stopped = leaving.size();
    for (const std::string& id : moving) {
      ++(served_now[conns_[conns_.find(id)].instance] ? out.moved : out.stopped);
      withdraw_and_serve_again(id, "moved to its new driver");
    }
  }
  if (plan.drivers_added.empty() && plan.drivers_changed.empty()) return out;
  // Rows of an added or changed driver that nothing serves: linked while it was configured
  // before, under a name no driver had at start, or left unserved by an instance that a reload
  // created skipped (on_load_error: skip) and this one replaces. Those moving already wait.
  std::vector<std::string> unserved;
  store_->for_each([&](const store::StoredConnection& row) {
    if ((!contains(plan.drivers_added, row.driver) &&
         !contains(plan.drivers_changed, row.driver)) ||
        row.state == "revoked" || row.state == "linking" || handled.count(row.id) ||
        awaiting_serve_.count(row.id))
      return true;
    const uint32_t c = conns_.find(row.id);
    if (c == kNoConn || conns_[c].state == ConnectionState::revoked) unserved.push_back(row.id);
    return true;
  });
  for (const std::string& id : unserved) {
    if (closing_.count(id) || awaiting_serve_.count(id)) {
      awaiting_serve_.insert(id);  // its old record is still busy: served once it is idle
      continue;
    }
    serve_stored(id, "served by its added driver");
  }
  out.moved += unserved.size();
  return out;
}

bool Runtime::still_moving(std::string_view name) const {
  return std::any_of(retiring_.begin(), retiring_.end(),
                     [&](const Retiring& r) { return !r.moved && r.d->name == name; });
}

void Runtime::retire_when_idle(DriverInstance& d) {
  retiring_.push_back({.d = &d, .since_ms = clock_.steady_ms()});
  if (retiring_.size() > 1) return;  // the timer runs already
  retire_timer_.expires_after(kRetireCheckEvery);
  retire_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec && !stopping_) check_retiring();
  });
}

void Runtime::check_retiring() {
  const int64_t now = clock_.steady_ms();
  // busy: a record still open or closing. unsettled: one whose poll in flight has not settled
  // yet, so its car has not been served again (a record the watchdog gave up on is settled and
  // moved, though it may close only when its late completion comes, if ever).
  std::vector<uint8_t> busy(drivers_.size()), unsettled(drivers_.size());
  for (uint32_t c = 0; c < conns_.size(); ++c) {
    const bool closing = dispatcher_->closing(c);
    if (conns_[c].open || closing) busy[conns_[c].instance] = 1;
    if (conns_[c].open && !closing) unsettled[conns_[c].instance] = 1;
  }
  std::vector<std::string> moved_now;
  std::erase_if(retiring_, [&](Retiring& r) {
    DriverInstance& d = *r.d;
    if (!r.moved && !unsettled[d.index]) {
      r.moved = true;
      moved_now.push_back(d.name);
    }
    if (!r.drained && !busy[d.index] && dispatcher_->outstanding_of(d.index) == 0) {
      r.drained = true;
      d.draining = true;
      timers_->cancel_owned(&d);
    }
    if (r.drained && d.callbacks_pending.load() == 0 && d.leases.load() == 0) {
      drivers_.destroy(d, [this](DriverInstance& di, const char* call, int64_t ms) {
        dispatcher_->note_call(di, call, kNoConn, ms);
      });
      spdlog::info("reload: the previous instance of driver {} was destroyed", d.name);
      return true;
    }
    if (!r.warned && now - r.since_ms > kRetireWarnMs) {
      r.warned = true;
      spdlog::warn(
          "reload: the previous instance of driver {} is still busy after {} s ({}; {} callbacks "
          "owed, {} leases); it is kept until it finishes",
          d.name, kRetireWarnMs / 1000,
          r.drained ? "its connections are closed" : "connections or polls still open",
          d.callbacks_pending.load(), d.leases.load());
    }
    return false;
  });
  // The configured instance of that name takes webhooks once it knows the cars: once no
  // instance of the name still closes connections (a driver changed twice quickly has two).
  // Posted after the completions that serve the connections again (posted as each closed).
  for (const std::string& name : moved_now)
    boost::asio::post(io_, [this, name] {
      if (still_moving(name) || stopping_) return;
      DriverInstance* d = drivers_.find(name);
      if (!d || !d->webhooks_held) return;
      d->webhooks_held = false;
      dispatcher_->start_driver_stream_of(*d);
    });
  if (retiring_.empty()) return;
  retire_timer_.expires_after(kRetireCheckEvery);
  retire_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec && !stopping_) check_retiring();
  });
}

std::set<std::string, std::less<>> Runtime::apply_quarantine(
    DriverCheckReport& checked, const config::QuarantineConfig& policy) {
  std::vector<std::string> names;
  for (const DriverCheck& c : checked.drivers) names.push_back(c.cfg->name);
  std::map<std::string, QuarantineState> judged;
  try {
    judged = quarantine_->judge(names, QuarantinePolicy{policy.after_crashes, policy.crash_window},
                                clock_.wall_ms());
  } catch (const std::exception& e) {
    // The log could not be written (a full disk): judged as far as it was read, said so.
    spdlog::error("driver fault log: {}; a driver crossing its crash limit now is not recorded",
                  e.what());
    judged = quarantine_->judge(names, QuarantinePolicy{policy.after_crashes, policy.crash_window},
                                clock_.wall_ms(), /*record=*/false);
  }
  std::set<std::string, std::less<>> out;
  for (DriverCheck& c : checked.drivers) {
    auto it = judged.find(c.cfg->name);
    if (it == judged.end() || !it->second.quarantined) continue;
    c.quarantined = true;
    c.quarantine_reason = it->second.reason;
    out.insert(c.cfg->name);
  }
  return out;
}

void Runtime::on_hung_poll(uint32_t index) {
  if (stopping_ || index >= drivers_.size()) return;
  DriverInstance& d = drivers_[index];
  if (d.retired || d.quarantined) return;
  if (!hung_budget_.note(index, clock_.steady_ms())) return;
  std::string why = std::to_string(hung_budget_.limit()) +
                    " polls hung past its poll_timeout within " +
                    window_text(std::chrono::milliseconds(hung_budget_.window_ms()));
  if (d.inst && isolation::is_remote_descriptor(d.d)) {
    // Out of process a hang costs only the process: end it, and it is started again.
    metrics_
        .counter("oemlink_driver_restarts_total",
                 "Driver processes ended by the host because the driver hung (isolation: process)",
                 {{"driver", d.name}})
        .add();
    isolation::restart_remote_instance(d.inst, why);
    return;
  }
  quarantine_live(d, why);
}

void Runtime::quarantine_live(DriverInstance& d, const std::string& reason) {
  try {
    quarantine_->quarantine(d.name, clock_.wall_ms(), reason);
  } catch (const std::exception& e) {
    spdlog::error("driver fault log: {}; driver {} is let go of now but loads at the next start",
                  e.what(), d.name);
  }
  metrics_
      .counter("oemlink_driver_quarantines_total",
               "Drivers quarantined while running (hung polls past the budget)",
               {{"driver", d.name}})
      .add();
  d.quarantined = true;
  d.quarantine_reason = reason;
  drivers_.retire(d);
  if (webhooks_) webhooks_->remove(*routes_, d.name);
  dispatcher_->stop_driver_stream(d);
  for (auto& c : components_) c->drivers_changed();
  std::vector<std::string> ids;
  for (uint32_t c = 0; c < conns_.size(); ++c)
    if (conns_[c].instance == d.index && conns_[c].state != ConnectionState::revoked)
      ids.push_back(conns_[c].id);
  for (const std::string& id : ids) withdraw_leaving(id);
  spdlog::error(
      "driver {} is quarantined: {}; its {} connections stop (rows and tokens kept) until "
      "`oemlink plugins unquarantine {}` and a reload or restart",
      d.name, reason, ids.size(), d.name);
  retire_when_idle(d);
}

}  // namespace oemlink::host
