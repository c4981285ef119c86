#include "core/host/connection_lifecycle.hpp"

#include "core/crypto/secp256k1_signer.hpp"
#include "core/host/driver_set.hpp"
#include "core/host/durability_gate.hpp"
#include "core/host/poll_dispatcher.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>

namespace oemlink::host {
namespace {

std::string_view phase_name(schedule::Phase p, schedule::ReportedState last) {
  switch (p) {
    case schedule::Phase::waiting:
      return last == schedule::ReportedState::asleep ? "asleep" : "idle";
    case schedule::Phase::queued:
      return "idle";
    case schedule::Phase::in_flight:
      return "polling";
    case schedule::Phase::streaming:
      return "streaming";
    case schedule::Phase::stopped:
      return "stopped";
  }
  return "stopped";
}

}  // namespace

ConnectionLifecycle::ConnectionLifecycle(LifecycleParts parts)
    : p_(parts),
      worker_("connection lifecycle"),
      added_(parts.metrics.counter("oemlink_connections_added_total",
                                   "Connections added live (admin API, linking)")),
      refused_(parts.metrics.counter("oemlink_connections_add_refused_total",
                                     "Live connection adds refused")),
      open_failed_(parts.metrics.counter("oemlink_connections_open_failed_total",
                                         "Connections whose driver open() failed (not polled)")),
      persist_failures_(
          parts.metrics.counter("oemlink_connection_state_persist_failures_total",
                                "Connection state changes the store failed to record")) {
  for (auto& [name, n] : p_.rows.counts_by_state())
    if (auto s = parse_state(name)) counts_[*s] = n;
  // The table learns which loaded connections are paused or need re-authentication from the
  // rows (few, by the state index): a paused one stays paused whatever its driver reports.
  for (ConnectionState s : {ConnectionState::paused, ConnectionState::needs_reauth}) {
    std::string after;
    for (;;) {
      auto page = p_.rows.page(after, 1000, state_name(s));
      for (const auto& row : page) {
        uint32_t c = p_.conns.find(row.id);
        if (c == kNoConn) continue;
        p_.conns[c].state = s;
        if (s == ConnectionState::paused) p_.dispatcher.pause_connection(c, [] {});
      }
      if (page.size() < 1000) break;
      after = page.back().id;
    }
  }
  p_.dispatcher.set_state_hook([this](uint32_t c, schedule::ReportedState s,
                                      const std::string& reason) { on_reported(c, s, reason); });
  std::vector<std::pair<ConnectionState, Gauge*>> gauges;
  for (ConnectionState s :
       {ConnectionState::linking, ConnectionState::active, ConnectionState::paused,
        ConnectionState::needs_reauth, ConnectionState::revoked})
    gauges.emplace_back(
        s, &parts.metrics.gauge("oemlink_connections", "Connections in the store, by state",
                                {{"state", std::string(state_name(s))}}));
  by_state_ = parts.metrics.add_collector([this, gauges = std::move(gauges)] {
    for (auto& [s, g] : gauges) {
      auto it = counts_.find(s);
      g->set(it == counts_.end() ? 0.0 : static_cast<double>(it->second));
    }
  });
}

ConnectionLifecycle::~ConnectionLifecycle() {
  close();
  p_.dispatcher.set_state_hook(nullptr);
}

void ConnectionLifecycle::close() {
  accepting_ = false;
  worker_.stop();
  closed_ = true;
}

// ---------------------------------------------------------------------------------------------
// Plumbing
// ---------------------------------------------------------------------------------------------

void ConnectionLifecycle::on_worker(std::function<void()> job) {
  if (!worker_.post(std::move(job)))
    spdlog::error("connection lifecycle: a job arrived after the worker stopped; dropped");
}

void ConnectionLifecycle::on_loop(std::function<void()> fn) {
  boost::asio::post(p_.io, [this, fn = std::move(fn)] {
    if (closed_) return;  // the table and the drivers may be gone
    fn();
  });
}

bool ConnectionLifecycle::refuse_if_closed(const ControlDone& done) const {
  if (accepting_) return false;
  done(ControlResult::failure(ControlError::unavailable, "the daemon is shutting down"));
  return true;
}

bool ConnectionLifecycle::begin(uint32_t c, const std::string& id, const ControlDone& done) {
  if (busy_.contains(c)) {
    done(ControlResult::failure(
        ControlError::conflict,
        "connection " + id + ": another change to it is under way; try again"));
    return false;
  }
  busy_.insert(c);
  ++pending_;
  return true;
}

void ConnectionLifecycle::finish(uint32_t c, const ControlDone& done, ControlResult result) {
  busy_.erase(c);
  --pending_;
  done(std::move(result));
}

DriverInstance* ConnectionLifecycle::loaded_driver(std::string_view name) const {
  DriverInstance* d = p_.drivers.find(name);  // the configured one, never a retired instance
  return d && d->inst && !d->skipped ? d : nullptr;
}

bool ConnectionLifecycle::withdrawn_meanwhile(uint32_t c, const std::string& id,
                                              const ControlDone& done) {
  // Only a reload's withdraw marks a record revoked while a change to it is under way (a
  // revoke waits for that change): a new record serves the car; this one stays closed.
  if (p_.conns[c].state != ConnectionState::revoked) return false;
  finish(c, done,
         ControlResult::failure(ControlError::conflict,
                                "connection " + id +
                                    " was moved or removed by a reload meanwhile; "
                                    "try again"));
  return true;
}

void ConnectionLifecycle::set_state(uint32_t c, ConnectionState s) {
  ConnectionRecord& r = p_.conns[c];
  if (r.state == s) return;
  if (counts_[r.state] > 0) --counts_[r.state];
  ++counts_[s];
  r.state = s;
}

std::string ConnectionLifecycle::device_address(uint32_t key_child) const {
  try {
    return crypto::to_checksum_address(p_.vault.address(key_child));
  } catch (const std::exception&) {
    return "";  // a retired child, or keyd unreachable: the view says it cannot tell
  }
}

std::string ConnectionLifecycle::phase_of(uint32_t c) const {
  if (c == kNoConn || c >= p_.conns.size()) return "stopped";
  return std::string(phase_name(p_.dispatcher.phase(c), p_.dispatcher.last_reported(c)));
}

ConnectionView ConnectionLifecycle::view_of(const store::StoredConnection& row, uint32_t c,
                                            std::string address) const {
  ConnectionView v;
  v.id = row.id;
  v.device_address = std::move(address);
  v.driver = row.driver;
  v.vehicle_id = row.vehicle_id;
  v.vin = row.vin;
  v.display_name = row.display_name;
  v.identifiers_json = row.identifiers_json;
  v.key_child = row.key_child;
  v.vehicle_token_id = row.vehicle_token_id;
  v.synthetic_token_id = row.synthetic_token_id;
  v.state = parse_state(row.state).value_or(ConnectionState::active);
  v.reason = row.reason;
  v.changed_ms = row.changed_ms;
  v.created_ms = row.created_ms;
  v.source = row.source == "linked" ? ConnectionSource::linked
             : row.source == "api"  ? ConnectionSource::api
                                    : ConnectionSource::config;
  v.mint_json = row.mint_json;
  if (c != kNoConn && c < p_.conns.size()) {
    const ConnectionRecord& r = p_.conns[c];
    v.state = r.state;  // the loop's view is the newest (a write may still be on its way)
    v.vehicle_token_id = r.vehicle_token_id.load(std::memory_order_relaxed);
    v.synthetic_token_id = r.synthetic_token_id.load(std::memory_order_relaxed);
  }
  v.phase = phase_of(c);
  return v;
}
// ---------------------------------------------------------------------------------------------
// A reload's YAML connections
// ---------------------------------------------------------------------------------------------

bool ConnectionLifecycle::withdraw(const std::string& id, std::function<void()> then) {
  const uint32_t c = p_.conns.find(id);
  if (c == kNoConn || p_.conns[c].state == ConnectionState::revoked) {
    if (then) then();
    return false;
  }
  ConnectionRecord& r = p_.conns[c];
  // The row is gone (or replaced): this record stops counting in any state. Marked revoked in
  // memory only, so no report, pause or resume brings it back; the store is not told (the row
  // of a changed connection lives on, served by a new record).
  if (counts_[r.state] > 0) --counts_[r.state];
  r.state = ConnectionState::revoked;
  ++withdrawn_;
  if (p_.dispatcher.closing(c)) p_.dispatcher.cancel_close(c);
  p_.dispatcher.pause_connection(c, [this, c, then = std::move(then)] {
    p_.dispatcher.close_when_idle(c);
    if (then) then();
  });
  return true;
}

std::string ConnectionLifecycle::serve(const store::StoredConnection& row) {
  DriverInstance* d = loaded_driver(row.driver);
  if (!d) return "driver instance '" + row.driver + "' is not loaded";
  const auto state = parse_state(row.state).value_or(ConnectionState::active);
  if (state == ConnectionState::revoked || state == ConnectionState::linking)
    return "its stored state is " + row.state;
  try {
    std::vector<std::pair<uint32_t, std::string_view>> claim{{row.key_child, row.id}};
    auto refused = p_.vault.claim_all(claim);
    if (!refused.empty()) return refused.front().second;
  } catch (const std::exception& e) {
    return std::string("key child registry: ") + e.what();
  }
  // Room in the gate before the handle exists: a driver may emit as soon as it is open.
  p_.gate.grow_to(p_.conns.size() + 1);
  const uint32_t c = p_.conns.add(ConnectionFields{.id = row.id,
                                                   .vin = row.vin,
                                                   .identifiers_json = row.identifiers_json,
                                                   .vehicle_token_id = row.vehicle_token_id,
                                                   .synthetic_token_id = row.synthetic_token_id,
                                                   .key_child = row.key_child,
                                                   .instance = d->index,
                                                   .state = state});
  ++counts_[state];
  if (state == ConnectionState::paused) {  // as a start loads it: resume opens it
    p_.dispatcher.add_unserved_connection(c);
    p_.dispatcher.pause_connection(c, [] {});
    return "";
  }
  std::optional<std::chrono::milliseconds> interval;
  if (row.poll_interval_ms > 0) interval = std::chrono::milliseconds(row.poll_interval_ms);
  p_.dispatcher.add_connection(c, *d, interval);
  std::string error;
  if (!p_.conns.open(c, *d, error)) {
    open_failed_.add();
    p_.dispatcher.stop_connection(c);
    return "the driver would not open it: " + error;
  }
  return "";
}
// ---------------------------------------------------------------------------------------------
// What drivers report
// ---------------------------------------------------------------------------------------------

void ConnectionLifecycle::on_reported(uint32_t c, schedule::ReportedState state,
                                      const std::string& reason) {
  if (!accepting_ || c >= p_.conns.size()) return;
  ConnectionRecord& r = p_.conns[c];
  ConnectionState to;
  if (state == schedule::ReportedState::needs_reauth && r.state == ConnectionState::active)
    to = ConnectionState::needs_reauth;
  else if (state == schedule::ReportedState::ok && r.state == ConnectionState::needs_reauth)
    to = ConnectionState::active;
  else
    return;  // no transition: nothing to write (a driver reporting per poll costs nothing)
  set_state(c, to);
  std::string why = to == ConnectionState::active ? "the driver reported OK again"
                    : reason.empty()              ? "the driver reported dead tokens"
                                                  : reason;
  on_worker([this, id = r.id, to, why] {
    try {
      // A pause or revocation written before this (its loop half still on its way when the
      // driver reported) wins: the report is stale news for that car, and writing it would undo
      // the pause on disk, so the next start would poll a car its operator paused.
      auto row = p_.rows.get(id);
      if (row && (row->state == state_name(ConnectionState::paused) ||
                  row->state == state_name(ConnectionState::revoked)))
        return;
      p_.rows.set_state(id, state_name(to), why, p_.clock.wall_ms());
    } catch (const std::exception& e) {
      persist_failures_.add();
      spdlog::error("connection {}: state {} not stored: {}", id, state_name(to), e.what());
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Reads
// ---------------------------------------------------------------------------------------------

std::optional<ConnectionView> ConnectionLifecycle::find(std::string_view id) const {
  auto row = p_.rows.get(id);
  if (!row) return std::nullopt;
  ConnectionView v = view_of(*row, p_.conns.find(id));
  v.device_address = device_address(row->key_child);
  return v;
}

std::optional<ConnectionView> ConnectionLifecycle::find_vehicle(std::string_view driver,
                                                                std::string_view vehicle_id,
                                                                std::string_view vin) const {
  auto row = p_.rows.find_vehicle(driver, vehicle_id, vin);
  if (!row) return std::nullopt;
  ConnectionView v = view_of(*row, p_.conns.find(row->id));
  v.device_address = device_address(row->key_child);
  return v;
}

ConnectionPage ConnectionLifecycle::list(std::string_view after, size_t limit,
                                         std::optional<ConnectionState> state) const {
  std::string_view s = state ? state_name(*state) : std::string_view();
  ConnectionPage page;
  std::vector<store::StoredConnection> rows = p_.rows.page(after, limit + 1, s);
  bool more = rows.size() > limit;
  if (more) rows.resize(limit);
  for (const auto& row : rows) {
    ConnectionView v = view_of(row, p_.conns.find(row.id));
    v.device_address = device_address(row.key_child);
    page.items.push_back(std::move(v));
  }
  if (more && !page.items.empty()) page.next_after = page.items.back().id;
  page.total = p_.rows.count(s);
  return page;
}

std::map<ConnectionState, size_t> ConnectionLifecycle::counts() const {
  std::map<ConnectionState, size_t> out;
  for (auto& [s, n] : counts_)
    if (n) out[s] = n;
  return out;
}

}  // namespace oemlink::host
