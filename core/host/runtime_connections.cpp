// Runtime's start-up of its connections. The connection store (<data_dir>/connections.db) is
// where they live; the YAML's are reconciled into it first, so a restart serves what the store
// holds: YAML, linked and API-added connections alike, each in its stored state.
#include "core/common/data_dir.hpp"
#include "core/common/log_fields.hpp"
#include "core/host/pipeline_assembly.hpp"
#include "core/host/poll_dispatcher.hpp"
#include "core/host/runtime.hpp"
#include "core/host/secret_access.hpp"
#include "core/store/connection_store.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>

namespace oemlink::host {

using Clock = std::chrono::steady_clock;

namespace {

int64_t ms_since(Clock::time_point t0) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
}

// What a row's state means at start. needs_reauth is opened too: the operator may have fixed
// the tokens offline (`oemlink secrets set`); if not, the driver reports it again.
enum class AtStart : uint8_t { open, hold };

AtStart at_start(std::string_view state) {
  return state == "active" || state == "needs_reauth" ? AtStart::open : AtStart::hold;
}

}  // namespace

size_t Runtime::open_connection_store() {
  try {
    store_ = std::make_unique<store::ConnectionStore>(DataDir(cfg_.data_dir).connections_db());
    auto t0 = Clock::now();
    store::ReconcileReport r = store_->reconcile_config(cfg_.connections, clock_.wall_ms());
    for (size_t i = 0; i < r.refused.size(); ++i) {
      const config::ConnectionConfig& cc = cfg_.connections[r.refused_at[i]];
      std::string_view why = r.refused[i];
      if (why.starts_with(cc.id + ": ")) why.remove_prefix(cc.id.size() + 2);
      spdlog::error("connection {} ({}:{}) not served: {}", cc.id, cc.position.file,
                    cc.position.line, why);
      conns_open_failed_.add();
    }
    spdlog::info(
        "connection store {}: config connections {} new, {} changed, {} unchanged, {} removed, "
        "{} refused ({} ms)",
        store_->path().string(), r.inserted, r.updated, r.unchanged, r.removed, r.refused.size(),
        ms_since(t0));
    // The store now holds what the YAML said; a million parsed entries (positions, maps) would
    // otherwise stay resident for the life of the process.
    std::vector<config::ConnectionConfig>().swap(cfg_.connections);
    return store_->count_live();
  } catch (const store::ConnectionStoreError& e) {
    throw StartupError(e.what());
  }
}

void Runtime::open_connections() {
  std::map<std::string_view, DriverInstance*> by_name;
  for (size_t i = 0; i < drivers_.size(); ++i) by_name[drivers_[i].name] = &drivers_[i];

  // Streamed from the store into the table; only what the table does not keep is held here,
  // and only until every connection is opened.
  const size_t expected = store_->count_live();
  std::vector<AtStart> how;
  std::vector<int64_t> poll_ms;
  conns_.reserve(expected);
  how.reserve(expected);
  poll_ms.reserve(expected);
  config::ConnectionConfig cc;  // reused: the table copies what it keeps
  struct Interrupted {
    std::string id, driver;
    uint32_t child;
  };
  std::vector<Interrupted> interrupted;
  try {
    store_->for_each([&](const store::StoredConnection& row) {
      if (row.state == "revoked") return true;
      auto it = by_name.find(row.driver);
      if (it == by_name.end()) {
        spdlog::error("connection {} not opened: its driver instance \"{}\" is not configured",
                      row.id, row.driver);
        conns_open_failed_.add();
        return true;
      }
      if (row.state == "linking") {
        // An add that a crash interrupted between its row and its secrets: taken back below.
        interrupted.push_back({row.id, row.driver, row.key_child});
        return true;
      }
      cc.id = row.id;
      cc.vin = row.vin;
      cc.vehicle_token_id = row.vehicle_token_id;
      cc.synthetic_token_id = row.synthetic_token_id;
      cc.key_child = row.key_child;
      uint32_t c = conns_.add(cc, it->second->index);
      conns_[c].identifiers_json = row.identifiers_json;
      how.push_back(at_start(row.state));
      poll_ms.push_back(row.poll_interval_ms);
      return true;
    });
  } catch (const store::ConnectionStoreError& e) {
    throw StartupError(e.what());
  }
  // Never served, and their tokens (if they got that far) must not outlive them: wiped, the
  // child retired, the row revoked with the reason. The car can be linked again.
  for (const Interrupted& i : interrupted) {
    try {
      secrets_->erase(SecretAccess::connection_owner(i.driver, i.id));
      store_->set_state(i.id, "revoked", "interrupted while being added: link the car again",
                        clock_.wall_ms());
      assembly_->vault().retire(i.child);
      spdlog::warn(
          "connection {} (driver {}) was being added when the daemon stopped; its "
          "tokens were wiped and it is revoked: link the car again",
          i.id, i.driver);
    } catch (const std::exception& e) {
      spdlog::error("connection {}: could not take back an interrupted add: {}", i.id, e.what());
    }
    conns_open_failed_.add();
  }

  // Every child in one registry transaction: a number that ever belonged to another connection
  // never signs for this one.
  std::vector<std::pair<size_t, std::string>> refusals;
  {
    std::vector<std::pair<uint32_t, std::string_view>> claims;
    claims.reserve(conns_.size());
    for (uint32_t c = 0; c < conns_.size(); ++c)
      claims.emplace_back(conns_[c].key_child, conns_[c].id);
    try {
      refusals = assembly_->vault().claim_all(claims);
    } catch (const std::exception& e) {
      throw StartupError(std::string("key child registry: ") + e.what());
    }
  }
  std::sort(refusals.begin(), refusals.end());
  auto refusal = refusals.begin();

  size_t opened = 0, failed = 0, skipped = 0, held = 0;
  for (uint32_t c = 0; c < conns_.size(); ++c) {
    const ConnectionRecord& r = conns_[c];
    DriverInstance& d = drivers_[r.instance];
    // Every connection has a scheduler slot with the same index, even one that is not served,
    // so handles stay a plain index.
    if (refusal != refusals.end() && refusal->first == c) {
      dispatcher_->add_unserved_connection(c);
      spdlog::error("connection {} not opened: {}", r.id, refusal->second);
      conns_open_failed_.add();
      ++failed;
      ++refusal;
      continue;
    }
    if (d.skipped || !d.inst) {
      dispatcher_->add_unserved_connection(c);
      conns_skipped_.add();
      ++skipped;
      continue;
    }
    if (how[c] == AtStart::hold) {
      dispatcher_->add_unserved_connection(c);
      ++held;
      continue;
    }
    std::optional<std::chrono::milliseconds> interval;
    if (poll_ms[c] > 0) interval = std::chrono::milliseconds(poll_ms[c]);
    dispatcher_->add_connection(c, d, interval);
    std::string error;
    auto t0 = Clock::now();
    bool ok = conns_.open(c, d, error);
    dispatcher_->note_call(d, "open", c, ms_since(t0));
    if (!ok) {
      // One bad car must not stop the fleet: report it, count it, keep going.
      spdlog::error("connection {} (driver {}): open failed: {}", r.id, d.name, error);
      conns_open_failed_.add();
      dispatcher_->stop_connection(c);
      ++failed;
      continue;
    }
    ++opened;
    if (!opts_.quiet_startup)
      log_with(LogFields{.driver = d.name, .connection = r.id}, spdlog::level::debug,
               "connection {} opened (driver {}, vin {})", r.id, d.name, r.vin);
  }
  spdlog::info("{} connections opened, {} failed, {} skipped, {} paused or linking", opened, failed,
               skipped, held);
}

}  // namespace oemlink::host
