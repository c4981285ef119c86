// ConnectionLifecycle::add: checked on the loop, rows, secrets and key children written on the
// worker, then tabled, opened and scheduled on the loop.
#include "core/host/connection_lifecycle.hpp"

#include "core/config/value_checks.hpp"
#include "core/host/driver_set.hpp"
#include "core/host/durability_gate.hpp"
#include "core/host/poll_dispatcher.hpp"
#include "core/host/secret_access.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <random>
#include <set>

namespace oemlink::host {
namespace {

constexpr size_t kMaxIdLength = 128;

bool valid_id(std::string_view id) {
  return id.size() <= kMaxIdLength && config::is_connection_id(id);
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
// ---------------------------------------------------------------------------------------------
// add
// ---------------------------------------------------------------------------------------------

void ConnectionLifecycle::add(std::vector<NewConnection> connections, ControlDone done) {
  if (refuse_if_closed(done)) return;
  if (connections.empty()) {
    done(ControlResult::failure(ControlError::bad_request, "no connections to add"));
    return;
  }
  auto job = std::make_shared<AddJob>();
  for (size_t i = 0; i < connections.size(); ++i) {
    NewConnection& n = connections[i];
    std::string at = "connections[" + std::to_string(i) + "]";
    DriverInstance* d = loaded_driver(n.driver);
    if (!d) {
      done(ControlResult::failure(ControlError::not_found,
                                  at + ".driver: no loaded driver instance '" + n.driver + "'"));
      return;
    }
    if (n.id.empty()) n.id = generated_id(n.driver);
    if (!valid_id(n.id)) {
      done(ControlResult::failure(ControlError::bad_request,
                                  at + ".id: must be 1 to 128 of A-Z a-z 0-9 . _ : - (got '" +
                                      n.id.substr(0, kMaxIdLength) + "')"));
      return;
    }
    if (!config::is_vin_or_empty(n.vin)) {
      done(ControlResult::failure(ControlError::bad_request,
                                  at + ".vin: '" + n.vin + "' is not a 17-character VIN"));
      return;
    }
    if (n.identifiers_json.empty()) n.identifiers_json = "{}";
    if (!config::is_json_object(n.identifiers_json)) {
      done(ControlResult::failure(ControlError::bad_request,
                                  at + ".identifiers: must be a JSON object"));
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
          p_.secrets.put(owners[k], job->items[item_of[k]].secrets.views());
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
    job->failed = ControlResult::failure(ControlError::unavailable,
                                         std::string("connection store: ") + e.what());
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
}  // namespace oemlink::host
