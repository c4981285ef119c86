#include "core/host/connection_lifecycle.hpp"

#include "core/config/value_checks.hpp"
#include "core/crypto/secp256k1_signer.hpp"
#include "core/host/driver_set.hpp"
#include "core/host/durability_gate.hpp"
#include "core/host/poll_dispatcher.hpp"
#include "core/host/secret_access.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>
#include <boost/json/parse.hpp>

#include <algorithm>
#include <random>
#include <set>

namespace oemlink::host {
namespace {

constexpr size_t kMaxIdLength = 128;

bool valid_id(std::string_view id) {
  if (id.empty() || id.size() > kMaxIdLength) return false;
  for (char ch : id) {
    bool ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '_' || ch == ':' || ch == '-';
    if (!ok) return false;
  }
  return true;
}

bool json_object(std::string_view text) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(text, ec);
  return !ec && v.is_object();
}

std::string generated_id(std::string_view driver) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  uint64_t bits = rng();
  std::string id(driver);
  id += '-';
  for (int i = 0; i < 12; ++i) id += kHex[(bits >> (4 * i)) & 0xF];
  return id;
}

ControlResult failure(ControlError e, std::string message) {
  ControlResult r;
  r.error = e;
  r.message = std::move(message);
  return r;
}

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

// string_view pairs over the secrets, for SecretAccess.
std::vector<std::pair<std::string_view, std::string_view>> pairs_of(const SecretPairs& s) {
  std::vector<std::pair<std::string_view, std::string_view>> out;
  out.reserve(s.size());
  for (auto& [k, v] : s.items()) out.emplace_back(k, v);
  return out;
}

}  // namespace

struct ConnectionLifecycle::AddJob {
  std::vector<NewConnection> items;
  std::vector<uint32_t> instance;  // per item: its driver's index
  // Filled on the worker:
  std::vector<store::StoredConnection> rows;  // inserted ones
  std::vector<std::string> addresses;         // parallel to rows
  std::vector<std::pair<size_t, std::string>> refused;
  std::vector<size_t> item_of_row;  // parallel to rows
  ControlResult failed;             // a whole-call failure
  ControlDone done;
};

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
  done(failure(ControlError::unavailable, "the daemon is shutting down"));
  return true;
}

bool ConnectionLifecycle::begin(uint32_t c, const std::string& id, const ControlDone& done) {
  if (busy_.contains(c)) {
    done(failure(ControlError::conflict,
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
         failure(ControlError::conflict, "connection " + id +
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
// add
// ---------------------------------------------------------------------------------------------

void ConnectionLifecycle::add(std::vector<NewConnection> connections, ControlDone done) {
  if (refuse_if_closed(done)) return;
  if (connections.empty()) {
    done(failure(ControlError::bad_request, "no connections to add"));
    return;
  }
  auto job = std::make_shared<AddJob>();
  for (size_t i = 0; i < connections.size(); ++i) {
    NewConnection& n = connections[i];
    std::string at = "connections[" + std::to_string(i) + "]";
    DriverInstance* d = loaded_driver(n.driver);
    if (!d) {
      done(failure(ControlError::not_found,
                   at + ".driver: no loaded driver instance '" + n.driver + "'"));
      return;
    }
    if (n.id.empty()) n.id = generated_id(n.driver);
    if (!valid_id(n.id)) {
      done(failure(ControlError::bad_request,
                   at + ".id: must be 1 to 128 of A-Z a-z 0-9 . _ : - (got '" +
                       n.id.substr(0, kMaxIdLength) + "')"));
      return;
    }
    if (!config::is_vin_or_empty(n.vin)) {
      done(failure(ControlError::bad_request,
                   at + ".vin: '" + n.vin + "' is not a 17-character VIN"));
      return;
    }
    if (n.identifiers_json.empty()) n.identifiers_json = "{}";
    if (!json_object(n.identifiers_json)) {
      done(failure(ControlError::bad_request, at + ".identifiers: must be a JSON object"));
      return;
    }
    job->instance.push_back(d->index);
  }
  job->items = std::move(connections);
  job->done = std::move(done);
  ++pending_;
  on_worker([this, job] { add_on_worker(job); });
}

// [worker] Checks, claims, secrets, rows. Nothing of a refused connection stays behind: its
// secrets are erased (its claimed child stays claimed for its id: claims are for good).
void ConnectionLifecycle::add_on_worker(const std::shared_ptr<AddJob>& job) {
  const int64_t now = p_.clock.wall_ms();
  std::vector<store::StoredConnection> rows;
  std::vector<size_t> item_of;
  std::vector<std::string> owners;
  std::set<std::string, std::less<>> ids, cars;  // within this request
  try {
    for (size_t i = 0; i < job->items.size(); ++i) {
      NewConnection& n = job->items[i];
      if (!ids.insert(n.id).second) {
        job->refused.emplace_back(i, "connection id " + n.id + " is given twice in this request");
        continue;
      }
      std::string car_key = !n.vehicle_id.empty() ? "v:" + n.driver + "/" + n.vehicle_id
                            : !n.vin.empty()      ? "n:" + n.driver + "/" + n.vin
                                                  : std::string();
      if (!car_key.empty() && !cars.insert(car_key).second) {
        job->refused.emplace_back(i, "this car is given twice in this request");
        continue;
      }
      if (auto existing = p_.rows.get(n.id)) {
        job->refused.emplace_back(i, "connection id " + n.id + " exists (" + existing->state + ")");
        continue;
      }
      if (!n.vehicle_id.empty() || !n.vin.empty()) {
        if (auto car = p_.rows.find_vehicle(n.driver, n.vehicle_id, n.vin)) {
          job->refused.emplace_back(
              i, "this car is already linked as connection " + car->id + " (" + car->state + ")");
          continue;
        }
      }
      uint32_t child = 0;
      try {
        child = p_.vault.claim_next(n.id);
      } catch (const vault::VaultError& e) {
        job->refused.emplace_back(i, std::string("key child: ") + e.what());
        continue;
      }
      std::string owner = SecretAccess::connection_owner(n.driver, n.id);
      store::StoredConnection row;
      row.id = n.id;
      row.driver = n.driver;
      row.vehicle_id = n.vehicle_id;
      row.vin = n.vin;
      row.display_name = n.display_name;
      row.identifiers_json = n.identifiers_json;
      row.vehicle_token_id = n.vehicle_token_id;
      row.synthetic_token_id = n.synthetic_token_id;
      row.key_child = child;
      row.poll_interval_ms = n.poll_interval ? n.poll_interval->count() : 0;
      // A connection with secrets is stored "linking" until they are on disk: a crash in
      // between leaves a row the next start finds and wipes, never tokens no row points to.
      row.state = std::string(
          state_name(n.secrets.empty() ? ConnectionState::active : ConnectionState::linking));
      row.changed_ms = now;
      row.created_ms = now;
      row.source = std::string(source_name(n.source));
      rows.push_back(std::move(row));
      item_of.push_back(i);
      owners.push_back(n.secrets.empty() ? std::string() : std::move(owner));
    }
    std::vector<std::string> why = rows.empty() ? std::vector<std::string>{} : p_.rows.insert(rows);
    for (size_t k = 0; k < rows.size(); ++k) {
      if (k < why.size() && !why[k].empty()) {
        job->refused.emplace_back(item_of[k], why[k]);
        continue;
      }
      if (!owners[k].empty()) {
        try {
          p_.secrets.put(owners[k], pairs_of(job->items[item_of[k]].secrets));
        } catch (const std::exception& e) {
          job->refused.emplace_back(item_of[k], std::string("secrets not stored: ") + e.what());
          p_.rows.set_state(rows[k].id, state_name(ConnectionState::revoked),
                            "its secrets could not be stored", now);
          p_.vault.retire(rows[k].key_child);
          continue;
        }
        p_.rows.set_state(rows[k].id, state_name(ConnectionState::active), "", now);
        rows[k].state = std::string(state_name(ConnectionState::active));
        owners[k].clear();  // settled: row and secrets both stored, nothing to take back
      }
      job->addresses.push_back(device_address(rows[k].key_child));
      job->item_of_row.push_back(item_of[k]);
      job->rows.push_back(std::move(rows[k]));
    }
  } catch (const std::exception& e) {
    // The store is down: secrets of connections not yet settled go again (their rows, if any,
    // are still "linking" and the next start wipes them too).
    for (const std::string& owner : owners) {
      if (owner.empty()) continue;
      try {
        p_.secrets.erase(owner);
      } catch (const std::exception&) {
      }
    }
    job->rows.clear();
    job->failed = failure(ControlError::unavailable, std::string("connection store: ") + e.what());
  }
  std::sort(job->refused.begin(), job->refused.end());
  for (auto& item : job->items) item.secrets = SecretPairs();  // wiped before the loop sees it
  on_loop([this, job] { add_on_loop(job); });
}

void ConnectionLifecycle::add_on_loop(const std::shared_ptr<AddJob>& job) {
  --pending_;
  if (!job->failed.ok()) {
    job->done(std::move(job->failed));
    return;
  }
  ControlResult result;
  result.refused = std::move(job->refused);
  refused_.add(result.refused.size());
  for (size_t k = 0; k < job->rows.size(); ++k) {
    const store::StoredConnection& row = job->rows[k];
    DriverInstance* taken = &p_.drivers[job->instance[job->item_of_row[k]]];
    // A reload may have replaced the instance while the rows were written: the configured one
    // serves them (the retired one is let go once idle; opened there, it never would be).
    if (taken->retired)
      if (DriverInstance* now = p_.drivers.find(taken->name)) taken = now;
    DriverInstance& d = *taken;
    // A reload that ran after the rows were committed served them already (its driver's rows
    // that nothing served): one record, one open handle.
    if (const uint32_t served = p_.conns.find(row.id);
        served != kNoConn && p_.conns[served].state != ConnectionState::revoked) {
      ConnectionView v = view_of(row, served);
      v.device_address = job->addresses[k];
      result.connections.push_back(std::move(v));
      continue;
    }
    // Room in the gate before the handle exists: a driver may emit as soon as it is open.
    p_.gate.grow_to(p_.conns.size() + 1);
    uint32_t c = p_.conns.add(ConnectionFields{.id = row.id,
                                               .vin = row.vin,
                                               .identifiers_json = row.identifiers_json,
                                               .vehicle_token_id = row.vehicle_token_id,
                                               .synthetic_token_id = row.synthetic_token_id,
                                               .key_child = row.key_child,
                                               .instance = d.index,
                                               .state = ConnectionState::active});
    ++counts_[ConnectionState::active];
    added_.add();
    std::optional<std::chrono::milliseconds> interval;
    if (row.poll_interval_ms > 0) interval = std::chrono::milliseconds(row.poll_interval_ms);
    p_.dispatcher.add_connection(c, d, interval);
    std::string error;
    if (!d.inst || d.retired || !p_.conns.open(c, d, error)) {
      // Created and stored, but the driver would not open it: it stays stopped until resumed
      // (re-authorised) and the answer says so through its phase.
      spdlog::error("connection {} (driver {}): open failed: {}", row.id, d.name,
                    d.retired ? "the driver was removed by a reload"
                    : d.inst  ? error
                              : "driver not loaded");
      open_failed_.add();
      p_.dispatcher.stop_connection(c);
    } else {
      spdlog::info("connection {} added (driver {}, key child {}, {})", row.id, d.name,
                   row.key_child, row.source);
    }
    ConnectionView v = view_of(row, c);
    v.device_address = job->addresses[k];
    result.connections.push_back(std::move(v));
  }
  job->done(std::move(result));
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
// pause, resume, revoke, reauthorize
// ---------------------------------------------------------------------------------------------

void ConnectionLifecycle::answer_absent(const std::string& id, bool revoke_again,
                                        std::string reason, ControlDone done) {
  ++pending_;
  on_worker([this, id, revoke_again, reason = std::move(reason), done = std::move(done)]() mutable {
    std::optional<store::StoredConnection> row;
    try {
      row = p_.rows.get(id);
    } catch (const std::exception& e) {
      std::string why = std::string("connection store: ") + e.what();
      on_loop([this, done, why] {
        --pending_;
        done(failure(ControlError::unavailable, why));
      });
      return;
    }
    if (row && row->state == state_name(ConnectionState::revoked) && revoke_again) {
      revoke_on_worker(id, row->driver, row->key_child, std::move(reason),
                       [this, done](ControlResult r) {
                         --pending_;
                         done(std::move(r));
                       });
      return;
    }
    on_loop([this, id, row, done] {
      --pending_;
      if (!row) {
        done(failure(ControlError::not_found, "no connection " + id));
        return;
      }
      done(failure(ControlError::conflict,
                   "connection " + id + " is " + row->state + " and cannot change"));
    });
  });
}

void ConnectionLifecycle::pause(const std::string& id, std::string reason, ControlDone done) {
  if (refuse_if_closed(done)) return;
  uint32_t c = p_.conns.find(id);
  if (c == kNoConn) return answer_absent(id, false, {}, std::move(done));
  ConnectionState s = p_.conns[c].state;
  if (s == ConnectionState::revoked || s == ConnectionState::linking) {
    done(failure(ControlError::conflict,
                 "connection " + id + " is " + std::string(state_name(s)) + "; it cannot pause"));
    return;
  }
  if (!begin(c, id, done)) return;
  if (reason.empty()) reason = "paused by an operator";
  on_worker([this, c, id, reason, done] {
    std::optional<store::StoredConnection> row;
    std::string error;
    try {
      p_.rows.set_state(id, state_name(ConnectionState::paused), reason, p_.clock.wall_ms());
      row = p_.rows.get(id);
    } catch (const std::exception& e) {
      error = std::string("connection store: ") + e.what();
    }
    std::string address = row ? device_address(row->key_child) : "";
    on_loop([this, c, id, row, error, address, done] {
      if (withdrawn_meanwhile(c, id, done)) return;
      if (!row) {
        finish(c, done, failure(ControlError::unavailable, error.empty() ? "row gone" : error));
        return;
      }
      set_state(c, ConnectionState::paused);
      // The driver's close waits for the poll in flight, whose events stay.
      p_.dispatcher.pause_connection(c, [this, c] {
        if (p_.conns[c].state == ConnectionState::paused) p_.dispatcher.close_when_idle(c);
      });
      spdlog::info("connection {} paused ({})", id, row->reason);
      ControlResult r;
      r.connections.push_back(view_of(*row, c, address));
      finish(c, done, std::move(r));
    });
  });
}

void ConnectionLifecycle::resume(const std::string& id, ControlDone done) {
  if (refuse_if_closed(done)) return;
  uint32_t c = p_.conns.find(id);
  if (c == kNoConn) return answer_absent(id, false, {}, std::move(done));
  ConnectionState s = p_.conns[c].state;
  if (s != ConnectionState::paused && s != ConnectionState::needs_reauth &&
      s != ConnectionState::active) {
    done(failure(ControlError::conflict,
                 "connection " + id + " is " + std::string(state_name(s)) + "; it cannot resume"));
    return;
  }
  if (!begin(c, id, done)) return;
  ConnectionRecord& rec = p_.conns[c];
  DriverInstance& d = p_.drivers[rec.instance];
  if (!d.inst) {
    finish(c, done,
           failure(ControlError::unavailable,
                   "driver " + d.name + " of connection " + id + " is not loaded"));
    return;
  }
  // A close still waiting for a hung poll is called off: the connection was never closed.
  if (p_.dispatcher.closing(c)) p_.dispatcher.cancel_close(c);
  bool reopened = false;
  if (!rec.open) {
    std::string error;
    if (!p_.conns.open(c, d, error)) {
      open_failed_.add();
      finish(c, done,
             failure(ControlError::unavailable,
                     "connection " + id + ": the driver would not open it: " + error));
      return;
    }
    reopened = true;
  }
  on_worker([this, c, id, reopened, done] {
    std::optional<store::StoredConnection> row;
    std::string error;
    try {
      p_.rows.set_state(id, state_name(ConnectionState::active), "resumed", p_.clock.wall_ms());
      row = p_.rows.get(id);
    } catch (const std::exception& e) {
      error = std::string("connection store: ") + e.what();
    }
    std::string address = row ? device_address(row->key_child) : "";
    on_loop([this, c, id, row, error, address, reopened, done] {
      if (withdrawn_meanwhile(c, id, done)) return;
      if (!row) {
        if (reopened) p_.dispatcher.close_when_idle(c);
        finish(c, done, failure(ControlError::unavailable, error.empty() ? "row gone" : error));
        return;
      }
      set_state(c, ConnectionState::active);
      std::optional<std::chrono::milliseconds> interval;
      if (row->poll_interval_ms > 0) interval = std::chrono::milliseconds(row->poll_interval_ms);
      p_.dispatcher.resume_connection(c, p_.drivers[p_.conns[c].instance], interval);
      spdlog::info("connection {} resumed", id);
      ControlResult r;
      r.connections.push_back(view_of(*row, c, address));
      finish(c, done, std::move(r));
    });
  });
}

// [worker] The durable half of a revocation: state first (so the connection is never served
// again whatever follows), then the wipe and the retirement, which a later revoke redoes.
void ConnectionLifecycle::revoke_on_worker(const std::string& id, std::string driver,
                                           uint32_t key_child, std::string reason,
                                           std::function<void(ControlResult)> then) {
  std::optional<store::StoredConnection> row;
  std::string error;
  try {
    p_.rows.set_state(id, state_name(ConnectionState::revoked), reason, p_.clock.wall_ms());
    p_.secrets.erase(SecretAccess::connection_owner(driver, id));
    // Rows an older version kept under "conn:<id>" and no driver has adopted yet go too.
    p_.secrets.erase(SecretAccess::legacy_connection_owner(id));
    p_.vault.retire(key_child);  // idempotent: a second revoke retires again harmlessly
    row = p_.rows.get(id);
  } catch (const std::exception& e) {
    error = e.what();
  }
  on_loop([this, id, row, error, then = std::move(then)] {
    if (!row || !error.empty()) {
      spdlog::error("connection {}: revocation incomplete: {} (revoke it again to retry)", id,
                    error);
      then(failure(ControlError::unavailable, "connection " + id + ": revocation incomplete: " +
                                                  error + " (revoke it again to retry)"));
      return;
    }
    spdlog::info("connection {} revoked ({}); its secrets are wiped and key child {} retired", id,
                 row->reason, row->key_child);
    ControlResult r;
    ConnectionView v = view_of(*row, p_.conns.find(id));
    r.connections.push_back(std::move(v));
    then(std::move(r));
  });
}

void ConnectionLifecycle::revoke(const std::string& id, std::string reason, ControlDone done) {
  if (refuse_if_closed(done)) return;
  if (reason.empty()) reason = "revoked by an operator";
  uint32_t c = p_.conns.find(id);
  if (c == kNoConn) return answer_absent(id, true, std::move(reason), std::move(done));
  if (!begin(c, id, done)) return;
  ConnectionRecord& rec = p_.conns[c];
  std::string driver = p_.drivers[rec.instance].name;
  uint32_t child = rec.key_child;
  ConnectionState before = rec.state;
  set_state(c, ConnectionState::revoked);  // from now on nothing resumes or polls it
  auto durable_half = [this, c, id, driver, child, reason, done] {
    on_worker([this, c, id, driver, child, reason, done] {
      revoke_on_worker(id, driver, child, reason,
                       [this, c, done](ControlResult r) { finish(c, done, std::move(r)); });
    });
  };
  if (before == ConnectionState::revoked) {
    durable_half();
    return;
  }
  p_.dispatcher.pause_connection(c, [this, c, durable_half] {
    p_.dispatcher.close_when_idle(c);
    durable_half();
  });
}

void ConnectionLifecycle::reauthorize(const std::string& id, SecretPairs secrets,
                                      ControlDone done) {
  if (refuse_if_closed(done)) return;
  uint32_t c = p_.conns.find(id);
  if (c == kNoConn) return answer_absent(id, false, {}, std::move(done));
  ConnectionState s = p_.conns[c].state;
  if (s == ConnectionState::revoked) {
    done(failure(ControlError::conflict, "connection " + id + " is revoked; link the car again"));
    return;
  }
  if (secrets.empty()) {
    done(failure(ControlError::bad_request, "reauthorize: no secrets given"));
    return;
  }
  if (!begin(c, id, done)) return;
  auto shared = std::make_shared<SecretPairs>(std::move(secrets));
  std::string driver = p_.drivers[p_.conns[c].instance].name;
  // The driver must not run with the old tokens while they are replaced: stop, wait for the poll
  // in flight, close; then replace and open again.
  p_.dispatcher.pause_connection(c, [this, c, id, driver, shared, done] {
    p_.dispatcher.close_when_idle(c);
    on_worker([this, c, id, driver, shared, done] {
      std::optional<store::StoredConnection> row;
      std::string error;
      try {
        p_.secrets.replace(SecretAccess::connection_owner(driver, id), pairs_of(*shared));
        p_.rows.set_state(id, state_name(ConnectionState::active), "re-authorized",
                          p_.clock.wall_ms());
        row = p_.rows.get(id);
      } catch (const std::exception& e) {
        error = e.what();
      }
      *shared = SecretPairs();
      std::string address = row ? device_address(row->key_child) : "";
      on_loop([this, c, id, row, error, address, done] {
        if (withdrawn_meanwhile(c, id, done)) return;
        DriverInstance& d = p_.drivers[p_.conns[c].instance];
        std::optional<std::chrono::milliseconds> interval;
        if (row && row->poll_interval_ms > 0)
          interval = std::chrono::milliseconds(row->poll_interval_ms);
        // A close still waiting on a hung poll is called off; the driver keeps its context
        // and reads the new tokens on its next secret_get.
        if (p_.dispatcher.closing(c)) p_.dispatcher.cancel_close(c);
        std::string open_error;
        bool is_open = p_.conns[c].open || (d.inst && p_.conns.open(c, d, open_error));
        if (!row) {
          // Nothing changed on disk: back to what it was (scheduled again if it was active).
          if (is_open) p_.dispatcher.resume_connection(c, d, interval);
          finish(c, done, failure(ControlError::unavailable, "connection " + id + ": " + error));
          return;
        }
        set_state(c, ConnectionState::active);
        if (!is_open) {
          open_failed_.add();
          finish(c, done,
                 failure(ControlError::unavailable,
                         "connection " + id +
                             ": new tokens stored, but the driver would not "
                             "open it: " +
                             open_error));
          return;
        }
        p_.dispatcher.resume_connection(c, d, interval);
        spdlog::info("connection {} re-authorized", id);
        ControlResult r;
        r.connections.push_back(view_of(*row, c, address));
        finish(c, done, std::move(r));
      });
    });
  });
}

// ---------------------------------------------------------------------------------------------
// poll_now, set_tokens, set_mint
// ---------------------------------------------------------------------------------------------

void ConnectionLifecycle::poll_now(const std::string& id, ControlDone done) {
  if (refuse_if_closed(done)) return;
  uint32_t c = p_.conns.find(id);
  if (c == kNoConn) return answer_absent(id, false, {}, std::move(done));
  ConnectionState s = p_.conns[c].state;
  if (s != ConnectionState::active) {
    done(failure(ControlError::conflict,
                 "connection " + id + " is " + std::string(state_name(s)) + "; it does not poll"));
    return;
  }
  if (p_.dispatcher.phase(c) == schedule::Phase::stopped) {
    done(
        failure(ControlError::conflict, "connection " + id +
                                            " is stopped (its driver reported it failed, or it did "
                                            "not open); resume it first"));
    return;
  }
  p_.dispatcher.poll_now(c);
  // One indexed read for the answer; the poll itself is already due.
  try {
    auto row = p_.rows.get(id);
    ControlResult r;
    if (row) r.connections.push_back(view_of(*row, c));
    done(std::move(r));
  } catch (const std::exception& e) {
    done(failure(ControlError::unavailable, std::string("connection store: ") + e.what()));
  }
}

void ConnectionLifecycle::set_tokens(const std::string& id, uint64_t vehicle_token_id,
                                     uint64_t synthetic_token_id, ControlDone done) {
  if (refuse_if_closed(done)) return;
  uint32_t c = p_.conns.find(id);
  if (c == kNoConn) return answer_absent(id, false, {}, std::move(done));
  if (p_.conns[c].state == ConnectionState::revoked) {
    done(failure(ControlError::conflict, "connection " + id + " is revoked"));
    return;
  }
  if (!begin(c, id, done)) return;
  on_worker([this, c, id, vehicle_token_id, synthetic_token_id, done] {
    std::optional<store::StoredConnection> row;
    std::string error;
    try {
      p_.rows.set_tokens(id, vehicle_token_id, synthetic_token_id);
      row = p_.rows.get(id);
    } catch (const std::exception& e) {
      error = std::string("connection store: ") + e.what();
    }
    std::string address = row ? device_address(row->key_child) : "";
    on_loop([this, c, row, error, address, done] {
      if (!row) {
        finish(c, done, failure(ControlError::unavailable, error.empty() ? "row gone" : error));
        return;
      }
      ConnectionRecord& r = p_.conns[c];
      r.vehicle_token_id.store(row->vehicle_token_id, std::memory_order_relaxed);
      r.synthetic_token_id.store(row->synthetic_token_id, std::memory_order_relaxed);
      ControlResult res;
      res.connections.push_back(view_of(*row, c, address));
      finish(c, done, std::move(res));
    });
  });
}

void ConnectionLifecycle::set_mint(const std::string& id, std::string mint_json, ControlDone done) {
  if (refuse_if_closed(done)) return;
  if (!json_object(mint_json)) {
    done(failure(ControlError::bad_request, "mint request: must be a JSON object"));
    return;
  }
  uint32_t c = p_.conns.find(id);
  if (c == kNoConn) return answer_absent(id, false, {}, std::move(done));
  if (p_.conns[c].state == ConnectionState::revoked) {
    done(failure(ControlError::conflict, "connection " + id + " is revoked"));
    return;
  }
  if (!begin(c, id, done)) return;
  on_worker([this, c, id, mint = std::move(mint_json), done] {
    std::optional<store::StoredConnection> row;
    std::string error;
    try {
      p_.rows.set_mint_once(id, mint);
      row = p_.rows.get(id);
    } catch (const std::exception& e) {
      error = std::string("connection store: ") + e.what();
    }
    std::string address = row ? device_address(row->key_child) : "";
    on_loop([this, c, row, error, address, done] {
      if (!row) {
        finish(c, done, failure(ControlError::unavailable, error.empty() ? "row gone" : error));
        return;
      }
      ControlResult res;
      ConnectionView v = view_of(*row, c);
      v.device_address = address;
      res.connections.push_back(std::move(v));
      finish(c, done, std::move(res));
    });
  });
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
