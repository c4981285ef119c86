#include "tesla_connection.hpp"

#include "jwt_scope.hpp"
#include "vehicle_data_mapper.hpp"

#include <boost/json.hpp>

#include <stdexcept>

namespace oemlink::tesla {

TeslaIdentifiers parse_identifiers(std::string_view json) {
  TeslaIdentifiers ids;
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(json.empty() ? std::string_view("{}") : json, ec);
  if (ec || !v.is_object()) throw std::invalid_argument("tesla: identifiers are not a JSON object");
  const auto& o = v.as_object();
  if (auto* id = o.if_contains("tesla_id")) {
    if (id->is_string())
      ids.tesla_id = std::string(id->as_string());
    else if (id->is_int64() && id->as_int64() > 0)
      ids.tesla_id = std::to_string(id->as_int64());
    else if (id->is_uint64())
      ids.tesla_id = std::to_string(id->as_uint64());
    else
      throw std::invalid_argument("tesla: identifier tesla_id must be a number or a string");
    for (char c : ids.tesla_id)
      if (c < '0' || c > '9')
        throw std::invalid_argument("tesla: identifier tesla_id must be the numeric vehicle id");
    if (ids.tesla_id.empty()) throw std::invalid_argument("tesla: identifier tesla_id is empty");
  }
  if (auto* acc = o.if_contains("account")) {
    if (!acc->is_string() || acc->as_string().empty())
      throw std::invalid_argument("tesla: identifier account must be a non-empty string");
    ids.account = std::string(acc->as_string());
  }
  for (const auto& [k, val] : o) {
    if (k != "tesla_id" && k != "account")
      throw std::invalid_argument("tesla: unknown identifier '" + std::string(k) + "'");
  }
  return ids;
}

TeslaConnection::TeslaConnection(std::shared_ptr<DriverState> state, ConnHandle conn,
                                 const ConnInfo& info)
    : state_(std::move(state)),
      conn_(conn),
      connection_id_(info.id),
      vin_(info.vin),
      ids_(parse_identifiers(info.identifiers_json)),
      budget_(state_->settings->daily_request_budget),
      wake_budget_(state_->settings->daily_wake_budget) {
  if (ids_.tesla_id.empty() && vin_.empty())
    throw std::invalid_argument("tesla: connection " + info.id +
                                " needs identifiers.tesla_id or a vin");
  car_ = std::make_shared<CarState>();
  car_->conn = conn_;
  car_->connection_id = connection_id_;
  car_->vin = vin_;
  car_->tesla_id = ids_.tesla_id;
  if (!state_->cars.add(car_))
    throw std::invalid_argument("tesla: VIN " + vin_ + " is already open in another connection");
  account_ = state_->account(ids_.account.empty() ? "connection:" + connection_id_ : ids_.account);
  account_->tokens().add_member(conn_);
  if (state_->telemetry_target) {
    if (vin_.empty()) {
      state_->host.log(OEMLINK_LOG_WARN,
                       "tesla: telemetry config needs the connection's vin; not managed", conn_);
    } else {
      sync_.emplace(state_->host, state_->settings, state_->telemetry_target,
                    state_->telemetry_errors, vin_, conn_);
    }
  }
}

TeslaConnection::~TeslaConnection() {
  if (!vin_.empty()) {
    state_->batcher->flush(vin_);
    state_->cars.remove(vin_, conn_);
  }
  account_->tokens().remove_member(conn_);
}

std::string TeslaConnection::vehicle_path() const {
  return "/api/1/vehicles/" + (ids_.tesla_id.empty() ? vin_ : ids_.tesla_id);
}

void TeslaConnection::report(oemlink_conn_state state, int64_t until, const std::string& reason) {
  if (state == OEMLINK_STATE_OK && last_state_ == OEMLINK_STATE_OK && reason == last_reason_)
    return;
  last_state_ = state;
  last_reason_ = reason;
  state_->host.report_state(conn_, state, until, reason);
}

void TeslaConnection::poll(PollDone d) {
  auto done = std::make_shared<PollDone>(std::move(d));
  // A rotation is stored on one member only; the others catch up here, one write a poll.
  account_->tokens().propagate_to(conn_);
  const Host& host = state_->host;
  const int64_t now = host.now_ms();
  if (!pending_.empty()) {
    const auto abi = to_abi(pending_);
    if (host.emit(conn_, abi) == OEMLINK_RETRY) {
      done->retry("host back-pressure: the last poll's readings are still waiting");
      return;
    }
    pending_.clear();
  }
  if (rate_limited_until_ > now) {
    report(OEMLINK_STATE_RATE_LIMITED, rate_limited_until_, rate_limit_reason_);
    done->retry(rate_limit_reason_);
    return;
  }
  if (const int64_t until = account_->rate_limited_until(); until > now) {
    const std::string reason = account_->rate_limit_reason();
    report(OEMLINK_STATE_RATE_LIMITED, until, reason);
    done->retry(reason);
    return;
  }
  if (sync_ && sync_->due(now)) {
    sync_->step(*account_, &budget_, [this, done] { after_sync(done); });
    return;
  }
  after_sync(done);
}

// The cost policy (README.md, "Cost policy"): a car with a live stream costs only its signals; a
// car asleep as far as its stream tells costs one vehicle-list call per account every
// stream_asleep_check_interval; only a stream that went silent without saying why, or a car that
// never streamed, is polled, and a car that has streamed at most every
// stream_fallback_poll_interval.
void TeslaConnection::after_sync(Done done) {
  const int64_t now = state_->host.now_ms();
  const TeslaSettings& s = *state_->settings;
  const bool broker_up = state_->broker_up.load();
  if (car_->stream_live(now, s.stream_stale_after_ms, broker_up)) {
    state_->host.count("polls_skipped_live_stream");
    report(OEMLINK_STATE_OK, 0, sync_ ? sync_->problem() : std::string());
    done->ok();
    return;
  }
  if (s.streaming() && broker_up && car_->stream_asleep.load()) {
    const int64_t listed = account_->listed_at_ms();
    if (listed >= 0 && now - listed < s.stream_asleep_check_interval_ms) {
      state_->host.count("polls_skipped_stream_asleep");
      report(OEMLINK_STATE_ASLEEP, 0, "asleep: its stream disconnected (it reconnects on waking)");
      done->ok();
      return;
    }
    state_->host.count("stream_asleep_checks");
    check_vehicle_list(std::move(done));
    return;
  }
  if (s.streaming() && car_->has_streamed()) {
    if (last_fallback_ms_ >= 0 && now - last_fallback_ms_ < s.stream_fallback_poll_interval_ms) {
      state_->host.count("polls_skipped_stream_fallback");
      done->ok();
      return;
    }
    last_fallback_ms_ = now;
  }
  check_vehicle_list(std::move(done));
}

bool TeslaConnection::stream_expected() const {
  const TeslaSettings& s = *state_->settings;
  if (!s.streaming() || !state_->broker_up.load()) return false;
  // A stream that went silent while the car was online is doubted until the car streams again.
  if (doubted_at_ms_ >= 0 && car_->last_stream_ms.load() <= doubted_at_ms_) return false;
  return car_->has_streamed() || (sync_ && sync_->in_line());
}

void TeslaConnection::check_vehicle_list(Done done) {
  TeslaAccount::ListReply on_list = [this, done](const ApiOutcome& o,
                                                 const std::vector<VehicleEntry>& list) {
    if (o.kind != ApiOutcome::Kind::ok) {
      on_failure(o, done);
      return;
    }
    const Host& host = state_->host;
    const TeslaSettings& s = *state_->settings;
    const VehicleEntry* e = find_vehicle(list, ids_.tesla_id, vin_);
    if (!e) {
      const std::string reason = "vehicle " + (ids_.tesla_id.empty() ? vin_ : ids_.tesla_id) +
                                 " is not in account " + account_->name() + "'s vehicle list";
      host.count("vehicles_not_listed");
      report(OEMLINK_STATE_FAILED, 0, reason);
      done->error(reason);
      return;
    }
    if (!vin_.empty() && !e->vin.empty() && e->vin != vin_) {
      host.count("vin_mismatches");
      if (!vin_mismatch_logged_)
        host.log(OEMLINK_LOG_WARN,
                 "tesla: vehicle list names VIN " + e->vin + " for vehicle " + e->id +
                     ", the connection says " + vin_,
                 conn_);
      vin_mismatch_logged_ = true;
    }
    const int64_t now = host.now_ms();
    const bool just_woken = woke_at_ms_ >= 0 && now - woke_at_ms_ < kAfterWakeMs;
    if (e->state != "online" && !just_woken) {
      // It will connect to Fleet Telemetry when it wakes: nothing to ask until then.
      if (stream_expected()) car_->stream_asleep = true;
      if (s.wake) {
        if (wake_budget_.take(now)) {
          wake(done);
          return;
        }
        host.count("wake_budget_exhausted");
      }
      report(OEMLINK_STATE_ASLEEP, 0, "vehicle list says " + e->state);
      done->ok();
      return;
    }
    if (car_->stream_asleep.load()) {
      // Online, yet its stream still says DISCONNECTED: the config may be gone or the car
      // cannot reach the server. Poll it (slowly) and read its config back.
      car_->stream_asleep = false;
      doubted_at_ms_ = now;
      last_fallback_ms_ = now;
      host.count("stream_silent_online");
      host.log(OEMLINK_LOG_WARN,
               "tesla: vehicle list says online but the car's stream is silent since it "
               "disconnected; polling it and reading its telemetry config back",
               conn_);
      if (sync_) sync_->recheck_now();
    }
    if (car_->has_streamed() && s.streaming()) host.count("stream_fallback_polls");
    fetch_vehicle_data(done);
  };
  account_->vehicles(conn_, std::move(on_list));
}

void TeslaConnection::wake(Done done) {
  FleetCall c;
  c.category = "wake_up";
  c.conn = conn_;
  c.budget = &budget_;
  const std::string path = vehicle_path();
  c.build = [path](const std::string& base, const std::string&) {
    HttpRequest req;
    req.method = "POST";
    req.url = base + path + "/wake_up";
    req.headers = {{"Accept", "application/json"}};
    return req;
  };
  account_->call(std::move(c), [this, done](const FleetReply& r) {
    if (r.outcome.kind != ApiOutcome::Kind::ok) {
      on_failure(r.outcome, done);
      return;
    }
    state_->host.count("wakes");
    woke_at_ms_ = state_->host.now_ms();
    account_->forget_vehicles();
    report(OEMLINK_STATE_ASLEEP, 0, "woken up; data on the next poll");
    done->ok();
  });
}

void TeslaConnection::fetch_vehicle_data(Done done) {
  FleetCall c;
  c.category = "vehicle_data";
  c.conn = conn_;
  c.budget = &budget_;
  const std::string path = vehicle_path();
  auto settings = state_->settings;
  c.build = [path, settings](const std::string& base, const std::string& token) {
    std::string endpoints;
    for (const std::string& e : settings->endpoints)
      endpoints += (endpoints.empty() ? "" : "%3B") + e;
    if (settings->location_data && jwt_has_scope(token, "vehicle_location"))
      endpoints += (endpoints.empty() ? "" : "%3B") + std::string("location_data");
    HttpRequest req;
    req.url = base + path + "/vehicle_data?endpoints=" + endpoints;
    req.headers = {{"Accept", "application/json"}};
    return req;
  };
  account_->call(std::move(c), [this, done](const FleetReply& r) { on_vehicle_data(r, done); });
}

void TeslaConnection::on_vehicle_data(const FleetReply& r, Done done) {
  if (r.outcome.kind != ApiOutcome::Kind::ok) {
    on_failure(r.outcome, done);
    return;
  }
  const Host& host = state_->host;
  const TeslaSettings& s = *state_->settings;
  const bool with_location = s.location_data && jwt_has_scope(r.access_token, "vehicle_location");
  VehicleDataResult result = VehicleDataMapper(with_location).map(r.body);
  if (!result.parsed) {
    host.count("vehicle_data_parse_errors");
    const std::string why = "vehicle_data answer unreadable: " + result.problems.front();
    host.log(OEMLINK_LOG_WARN, "tesla: " + why, conn_);
    done->error(why);
    return;
  }
  if (!result.problems.empty()) {
    host.count("vehicle_data_value_errors", result.problems.size());
    host.log(OEMLINK_LOG_WARN,
             "tesla: vehicle_data: " + result.problems.front() +
                 (result.problems.size() > 1
                      ? " (and " + std::to_string(result.problems.size() - 1) + " more)"
                      : ""),
             conn_);
  }
  if (!vin_.empty() && !result.vin.empty() && result.vin != vin_) {
    host.count("vin_mismatches");
    host.log(OEMLINK_LOG_WARN,
             "tesla: vehicle_data names VIN " + result.vin + ", the connection says " + vin_ +
                 "; readings go out under the connection's VIN",
             conn_);
  }
  if (!result.readings.empty()) {
    const auto abi = to_abi(result.readings);
    const oemlink_status st = host.emit(conn_, abi);
    if (st == OEMLINK_RETRY) {
      pending_ = std::move(result.readings);
      done->retry("host back-pressure; readings kept for the next poll");
      return;
    }
    host.count("poll_readings", result.readings.size());
  }
  report(OEMLINK_STATE_OK, 0, sync_ ? sync_->problem() : std::string());
  done->ok();
}

void TeslaConnection::on_failure(const ApiOutcome& o, Done done) {
  const Host& host = state_->host;
  switch (o.kind) {
    case ApiOutcome::Kind::asleep:
      if (o.http_status == 408) host.count("asleep_408");
      account_->forget_vehicles();  // it said online: it is out of date
      report(OEMLINK_STATE_ASLEEP, 0, o.reason);
      done->ok();
      return;
    case ApiOutcome::Kind::rate_limited:
      // The account's own limit lives in the account; a car's (and its budget) here.
      if (o.until_ms > account_->rate_limited_until()) {
        rate_limited_until_ = o.until_ms;
        rate_limit_reason_ = o.reason;
      }
      report(OEMLINK_STATE_RATE_LIMITED, o.until_ms, o.reason);
      done->retry(o.reason);
      return;
    case ApiOutcome::Kind::reauth:
    case ApiOutcome::Kind::unauthorized:
      host.count("needs_reauth");
      report(OEMLINK_STATE_NEEDS_REAUTH, 0, o.reason);
      done->error(o.reason);
      return;
    case ApiOutcome::Kind::failed:
      host.count("failed");
      report(OEMLINK_STATE_FAILED, 0, o.reason);
      done->error(o.reason);
      return;
    default:
      done->retry(o.reason.empty() ? "transient failure" : o.reason);
      return;
  }
}

}  // namespace oemlink::tesla
