// TeslaConnection: one car. A poll, in order: re-emit readings the host refused last time; stop
// early when the car or its account is rate-limited; step the telemetry config sync when due;
// skip when the car's stream is live, or when the stream says it sleeps (but for a sparse
// vehicle-list check); ask the account's (cached) vehicle list whether the car is online;
// asleep/offline -> ASLEEP (or a budgeted wake when enabled); online -> vehicle_data, mapped and
// emitted as one event. Each outcome is reported as described in README.md.
#ifndef OEMLINK_TESLA_TESLA_CONNECTION_HPP
#define OEMLINK_TESLA_TESLA_CONNECTION_HPP

#include "daily_budget.hpp"
#include "driver_state.hpp"
#include "signal_reading.hpp"
#include "telemetry_config_sync.hpp"
#include "tesla_account.hpp"

#include <oemlink/driver.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace oemlink::tesla {

// The connection's identifiers_json: {"tesla_id": "123" | 123, "account": "alice"}.
struct TeslaIdentifiers {
  std::string tesla_id;
  std::string account;  // empty: the connection is its own account
};
// Throws std::invalid_argument naming the identifier at fault.
TeslaIdentifiers parse_identifiers(std::string_view json);

class TeslaConnection final : public Connection {
 public:
  static constexpr int64_t kAfterWakeMs = 5 * 60'000;

  TeslaConnection(std::shared_ptr<DriverState> state, ConnHandle conn, const ConnInfo& info);
  ~TeslaConnection() override;

  void poll(PollDone done) override;

 private:
  using Done = std::shared_ptr<PollDone>;
  void after_sync(Done done);
  // Whether the car is expected to stream when it wakes (so asleep means: ask nothing).
  bool stream_expected() const;
  void check_vehicle_list(Done done);
  void wake(Done done);
  void fetch_vehicle_data(Done done);
  void on_vehicle_data(const FleetReply& reply, Done done);
  void on_failure(const ApiOutcome& outcome, Done done);
  void report(oemlink_conn_state state, int64_t until, const std::string& reason);
  std::string vehicle_path() const;  // "/api/1/vehicles/<id or VIN>"

  std::shared_ptr<DriverState> state_;
  ConnHandle conn_;
  std::string connection_id_;
  std::string vin_;
  TeslaIdentifiers ids_;
  std::shared_ptr<TeslaAccount> account_;
  std::shared_ptr<CarState> car_;
  DailyBudget budget_;
  DailyBudget wake_budget_;
  std::optional<TelemetryConfigSync> sync_;

  std::vector<SignalReading> pending_;  // refused by the host with RETRY, emitted first next time
  int64_t rate_limited_until_ = 0;
  std::string rate_limit_reason_;
  int64_t last_fallback_ms_ = -1;  // the last fallback check of a car that has streamed
  int64_t doubted_at_ms_ = -1;     // when it was seen online while its stream said asleep
  int64_t woke_at_ms_ = -1;
  oemlink_conn_state last_state_ = -1;
  std::string last_reason_;
  bool vin_mismatch_logged_ = false;
};

}  // namespace oemlink::tesla

#endif
