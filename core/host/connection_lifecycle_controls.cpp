// ConnectionLifecycle's changes to one existing connection: pause, resume, revoke, reauthorize,
// poll_now, set_tokens, set_mint.
#include "core/host/connection_lifecycle.hpp"

#include "core/config/value_checks.hpp"
#include "core/host/driver_set.hpp"
#include "core/host/durability_gate.hpp"
#include "core/host/poll_dispatcher.hpp"
#include "core/host/secret_access.hpp"

#include <spdlog/spdlog.h>

namespace oemlink::host {

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
        done(ControlResult::failure(ControlError::unavailable, why));
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
        done(ControlResult::failure(ControlError::not_found, "no connection " + id));
        return;
      }
      done(ControlResult::failure(ControlError::conflict,
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
    done(ControlResult::failure(
        ControlError::conflict,
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
        finish(
            c, done,
            ControlResult::failure(ControlError::unavailable, error.empty() ? "row gone" : error));
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
    done(ControlResult::failure(
        ControlError::conflict,
        "connection " + id + " is " + std::string(state_name(s)) + "; it cannot resume"));
    return;
  }
  if (!begin(c, id, done)) return;
  ConnectionRecord& rec = p_.conns[c];
  DriverInstance& d = p_.drivers[rec.instance];
  if (!d.inst) {
    finish(c, done,
           ControlResult::failure(ControlError::unavailable,
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
      finish(
          c, done,
          ControlResult::failure(ControlError::unavailable,
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
        finish(
            c, done,
            ControlResult::failure(ControlError::unavailable, error.empty() ? "row gone" : error));
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
      then(ControlResult::failure(ControlError::unavailable,
                                  "connection " + id + ": revocation incomplete: " + error +
                                      " (revoke it again to retry)"));
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
    done(ControlResult::failure(ControlError::conflict,
                                "connection " + id + " is revoked; link the car again"));
    return;
  }
  if (secrets.empty()) {
    done(ControlResult::failure(ControlError::bad_request, "reauthorize: no secrets given"));
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
        p_.secrets.replace(SecretAccess::connection_owner(driver, id), shared->views());
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
          finish(
              c, done,
              ControlResult::failure(ControlError::unavailable, "connection " + id + ": " + error));
          return;
        }
        set_state(c, ConnectionState::active);
        if (!is_open) {
          open_failed_.add();
          finish(c, done,
                 ControlResult::failure(ControlError::unavailable,
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
    done(ControlResult::failure(
        ControlError::conflict,
        "connection " + id + " is " + std::string(state_name(s)) + "; it does not poll"));
    return;
  }
  if (p_.dispatcher.phase(c) == schedule::Phase::stopped) {
    done(ControlResult::failure(ControlError::conflict,
                                "connection " + id +
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
    done(ControlResult::failure(ControlError::unavailable,
                                std::string("connection store: ") + e.what()));
  }
}

void ConnectionLifecycle::set_tokens(const std::string& id, uint64_t vehicle_token_id,
                                     uint64_t synthetic_token_id, ControlDone done) {
  if (refuse_if_closed(done)) return;
  uint32_t c = p_.conns.find(id);
  if (c == kNoConn) return answer_absent(id, false, {}, std::move(done));
  if (p_.conns[c].state == ConnectionState::revoked) {
    done(ControlResult::failure(ControlError::conflict, "connection " + id + " is revoked"));
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
        finish(
            c, done,
            ControlResult::failure(ControlError::unavailable, error.empty() ? "row gone" : error));
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
  if (!config::is_json_object(mint_json)) {
    done(ControlResult::failure(ControlError::bad_request, "mint request: must be a JSON object"));
    return;
  }
  uint32_t c = p_.conns.find(id);
  if (c == kNoConn) return answer_absent(id, false, {}, std::move(done));
  if (p_.conns[c].state == ConnectionState::revoked) {
    done(ControlResult::failure(ControlError::conflict, "connection " + id + " is revoked"));
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
        finish(
            c, done,
            ControlResult::failure(ControlError::unavailable, error.empty() ? "row gone" : error));
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
}  // namespace oemlink::host
