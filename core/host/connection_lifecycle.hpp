// ConnectionLifecycle: host::ConnectionControl in the running daemon. One per Runtime, on the
// loop. Every call is split in two:
//   - the worker (SerialWorker, one thread): store writes (ConnectionRows), secret writes and
//     wipes (SecretAccess), key-child claims and retirements (KeyVault): each may fsync or wait
//     on oemlink-keyd, so none runs on the loop;
//   - the loop: the table, the scheduler and the driver's open/close ([host-loop] in driver.h).
// The worker posts its result back to the loop, which applies it and calls `done`.
//
// What each call does, in order:
//   add        check (driver loaded, id/VIN/identifiers) → worker: id and car free, claim a fresh
//              key child (claim_next), store the secrets (one transaction per connection), insert
//              the rows (one transaction) → loop: table, durability gate, scheduler, open.
//   pause      worker: state paused → loop: no new polls or stream starts; once a poll in flight
//              has completed (its events durable), the driver's close().
//   resume     loop: open again (unless still open) → worker: state active → loop: scheduled now.
//   revoke     loop: like pause → once settled: close; worker: state revoked, secrets wiped from
//              the files, key child retired → never live again. Revoking a revoked connection
//              redoes the wipe and the retirement (a failed one is retried that way).
//   reauthorize loop: like pause → worker: secrets replaced in one transaction, state active →
//              loop: open again (after the in-flight poll), scheduled now.
//   poll_now   an active connection becomes due now (its driver's limits still apply).
//   set_tokens worker: store → loop: the table's record, so new events carry the new ids.
//   set_mint   worker: stored once; the stored one is answered.
// A driver's NEEDS_REAUTH is persisted once per transition (not per poll); its OK afterwards
// persists active again.
//
// One operation at a time per connection: a second one while the first is under way answers
// conflict. After stop_accepting() every call answers unavailable; close() lets the worker finish
// what it holds (before the store closes).
#pragma once

#include "core/common/metrics.hpp"
#include "core/host/connection_control.hpp"
#include "core/host/connection_rows.hpp"
#include "core/host/connection_table.hpp"
#include "core/host/host_clock.hpp"
#include "core/host/serial_worker.hpp"
#include "core/schedule/poll_scheduler.hpp"
#include "core/vault/key_vault.hpp"

#include <boost/asio/io_context.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_set>

namespace oemlink::host {

class DriverSet;
struct DriverInstance;
class DurabilityGate;
class PollDispatcher;
class SecretAccess;

struct LifecycleParts {
  boost::asio::io_context& io;
  const HostClock& clock;
  MetricsRegistry& metrics;
  ConnectionTable& conns;
  DriverSet& drivers;
  PollDispatcher& dispatcher;
  DurabilityGate& gate;
  SecretAccess& secrets;
  vault::KeyVault& vault;
  ConnectionRows& rows;
};

class ConnectionLifecycle final : public ConnectionControl {
 public:
  // [loop] Reads the per-state counts once (one query) and hooks the dispatcher's reported
  // states.
  explicit ConnectionLifecycle(LifecycleParts parts);
  ~ConnectionLifecycle() override;

  void add(std::vector<NewConnection> connections, ControlDone done) override;
  void reauthorize(const std::string& id, SecretPairs secrets, ControlDone done) override;
  void pause(const std::string& id, std::string reason, ControlDone done) override;
  void resume(const std::string& id, ControlDone done) override;
  void revoke(const std::string& id, std::string reason, ControlDone done) override;
  void poll_now(const std::string& id, ControlDone done) override;
  void set_tokens(const std::string& id, uint64_t vehicle_token_id, uint64_t synthetic_token_id,
                  ControlDone done) override;
  void set_mint(const std::string& id, std::string mint_json, ControlDone done) override;

  std::optional<ConnectionView> find(std::string_view id) const override;
  std::optional<ConnectionView> find_vehicle(std::string_view driver, std::string_view vehicle_id,
                                             std::string_view vin) const override;
  ConnectionPage list(std::string_view after, size_t limit,
                      std::optional<ConnectionState> state) const override;
  std::map<ConnectionState, size_t> counts() const override;

  // [loop] Shutdown began: every later call answers unavailable.
  void stop_accepting() { accepting_ = false; }
  // [loop] Calls whose `done` has not run yet (the runtime waits for them while draining).
  size_t pending() const { return pending_; }
  // Lets the worker finish what it holds, then stops it. Results it posts after this are
  // dropped without touching the table or a driver.
  void close();

  // ---- a reload's YAML connections [loop] (runtime_reload.cpp) ----
  // The YAML no longer lists `id` (or lists it changed) and the store has been reconciled: no
  // new polls or stream starts; the driver's close() once what is in flight has completed (its
  // events kept and durable). Not a revocation: its tokens and key child stay, so listing it
  // again serves the same car with the same device address. Its table record is retired for
  // good (an index is never reused); `then` runs once nothing of it is in flight any more (at
  // once when it was not served). False when the table holds no live record of `id`.
  bool withdraw(const std::string& id, std::function<void()> then);
  // Records withdrawn so far: they keep their table slot (indices never move) but are no
  // connection any more (a moved one is counted again under its new record).
  size_t withdrawn() const { return withdrawn_; }
  // Serves a stored row that a reload inserted or changed: claims its key child for its id (the
  // same claim as at start), adds a table record, and opens and schedules it, or holds it when
  // its row is paused. Returns why it is not served ("" when it is).
  std::string serve(const store::StoredConnection& row);

  // [loop] From the dispatcher: a driver reported NEEDS_REAUTH or OK for connection c.
  void on_reported(uint32_t c, schedule::ReportedState state, const std::string& reason);

 private:
  struct AddJob;
  struct Op;

  bool refuse_if_closed(const ControlDone& done) const;
  // Starts an operation on an existing connection: answers not_found/conflict itself and returns
  // false, or marks c busy and returns true.
  bool begin(uint32_t c, const std::string& id, const ControlDone& done);
  void finish(uint32_t c, const ControlDone& done, ControlResult result);
  // For an id not in the table (revoked before this start, or unknown): answers from the store.
  void answer_absent(const std::string& id, bool revoke_again, std::string reason,
                     ControlDone done);
  void on_worker(std::function<void()> job);
  void on_loop(std::function<void()> fn);

  void add_on_worker(const std::shared_ptr<AddJob>& job);
  void add_on_loop(const std::shared_ptr<AddJob>& job);
  void revoke_on_worker(const std::string& id, std::string driver, uint32_t key_child,
                        std::string reason, std::function<void(ControlResult)> then);

  // `address`: the key child's device address, looked up by the caller off the loop when the
  // answer needs it (the vault may be a keyd round trip).
  ConnectionView view_of(const store::StoredConnection& row, uint32_t c,
                         std::string address = {}) const;
  std::string device_address(uint32_t key_child) const;
  std::string phase_of(uint32_t c) const;
  DriverInstance* loaded_driver(std::string_view name) const;
  // [loop] After a worker hop: true (and `done` answered) when a reload withdrew record `c`.
  bool withdrawn_meanwhile(uint32_t c, const std::string& id, const ControlDone& done);
  void set_state(uint32_t c, ConnectionState s);

  LifecycleParts p_;
  SerialWorker worker_;
  bool accepting_ = true;
  bool closed_ = false;
  size_t pending_ = 0;
  std::unordered_set<uint32_t> busy_;
  std::map<ConnectionState, size_t> counts_;
  size_t withdrawn_ = 0;
  Counter& added_;
  Counter& refused_;
  Counter& open_failed_;
  Counter& persist_failures_;
  // oemlink_connections{state}: copied from counts_ when scraped (five values, whatever the
  // fleet's size).
  CollectorRegistration by_state_;
};

}  // namespace oemlink::host
