#include "telemetry_config_sync.hpp"

#include <boost/json.hpp>

#include <cmath>

namespace oemlink::tesla {
namespace {

namespace json = boost::json;

double number_or(const json::object& o, std::string_view key, double fallback) {
  auto* v = o.if_contains(key);
  return (v && v->is_number()) ? v->to_number<double>() : fallback;
}

}  // namespace

TelemetryConfigSync::TelemetryConfigSync(Host host, std::shared_ptr<const TeslaSettings> settings,
                                         std::shared_ptr<const TelemetryConfigTarget> target,
                                         std::shared_ptr<TelemetryErrors> errors, std::string vin,
                                         ConnHandle conn)
    : host_(host),
      settings_(std::move(settings)),
      target_(std::move(target)),
      errors_(std::move(errors)),
      vin_(std::move(vin)),
      conn_(conn) {}

bool TelemetryConfigSync::matches(const json::object& desired, const json::value& actual) {
  if (!actual.is_object()) return false;
  const json::object& a = actual.as_object();
  for (std::string_view key : {"hostname", "ca"}) {
    auto* d = desired.if_contains(key);
    auto* v = a.if_contains(key);
    if (!d || !v || !v->is_string() || v->as_string() != d->as_string()) return false;
  }
  if (number_or(a, "port", -1) != number_or(desired, "port", -2)) return false;
  auto* want = desired.if_contains("fields");
  auto* have = a.if_contains("fields");
  if (!want || !have || !have->is_object()) return false;
  if (have->as_object().size() != want->as_object().size()) return false;
  for (const auto& [name, spec] : want->as_object()) {
    auto* h = have->as_object().if_contains(name);
    if (!h || !h->is_object()) return false;
    const json::object& ws = spec.as_object();
    const json::object& hs = h->as_object();
    if (number_or(hs, "interval_seconds", -1) != number_or(ws, "interval_seconds", -2))
      return false;
    if (std::fabs(number_or(hs, "minimum_delta", 0) - number_or(ws, "minimum_delta", 0)) > 1e-9)
      return false;
  }
  return true;
}

void TelemetryConfigSync::set_problem(std::string problem) {
  if (problem == problem_) return;
  problem_ = std::move(problem);
  if (!problem_.empty()) {
    host_.count("telemetry_config_problems");
    host_.log(OEMLINK_LOG_WARN, "tesla: telemetry config of " + vin_ + ": " + problem_, conn_);
  } else {
    host_.log(OEMLINK_LOG_INFO, "tesla: telemetry config of " + vin_ + " is in line", conn_);
  }
}

void TelemetryConfigSync::step(TeslaAccount& account, DailyBudget* budget,
                               std::function<void()> done) {
  FleetCall c;
  c.category = "telemetry_config";
  c.conn = conn_;
  c.budget = budget;
  const std::string vin = vin_;
  c.build = [vin](const std::string& base, const std::string&) {
    HttpRequest req;
    req.url = base + "/api/1/vehicles/" + vin + "/fleet_telemetry_config";
    req.headers = {{"Accept", "application/json"}};
    return req;
  };
  account.call(std::move(c), [this, &account, budget, done](const FleetReply& r) mutable {
    on_get(account, budget, r, std::move(done));
  });
}

void TelemetryConfigSync::on_get(TeslaAccount& account, DailyBudget* budget, const FleetReply& r,
                                 std::function<void()> done) {
  const int64_t now = host_.now_ms();
  if (r.outcome.kind != ApiOutcome::Kind::ok) {
    set_problem("reading the config failed: " + r.outcome.reason);
    next_check_ms_ = r.outcome.kind == ApiOutcome::Kind::rate_limited
                         ? std::max(r.outcome.until_ms, now + kRetryAfterErrorMs)
                         : now + kRetryAfterErrorMs;
    done();
    return;
  }
  boost::system::error_code ec;
  json::value v = json::parse(r.body, ec);
  auto* resp = (!ec && v.is_object()) ? v.as_object().if_contains("response") : nullptr;
  if (!resp || !resp->is_object()) {
    host_.count("telemetry_config_unreadable");
    set_problem("the config answer is not a response object");
    next_check_ms_ = now + kRetryAfterErrorMs;
    done();
    return;
  }
  const json::object& o = resp->as_object();
  auto flag = [&](std::string_view key) {
    auto* f = o.if_contains(key);
    return f && f->is_bool() && f->as_bool();
  };
  const json::value* config = o.if_contains("config");
  const bool present = config && !config->is_null();
  const bool same = present && matches(target_->config, *config);
  const bool key_paired = flag("key_paired");
  const bool limit_reached = flag("limit_reached");
  in_line_ = same && key_paired && !limit_reached;
  std::string problem;
  if (!key_paired)
    problem = "virtual key not paired (the owner adds it at tesla.com/_ak/<domain>)";
  else if (limit_reached)
    problem = "the car reached its limit of telemetry configs (other apps hold them)";
  else if (!present)
    problem =
        posted_at_ms_ >= 0 ? "config posted but GET still shows none" : "no config on the car";
  else if (!same)
    problem = "the car's config differs from the configured one";
  else if (!flag("synced"))
    problem = "config not yet synced (applied at the car's next connection)";
  if (!key_paired) host_.count("telemetry_config_key_unpaired");
  if (limit_reached) host_.count("telemetry_config_limit_reached");

  // Missing or different, and not posted within the last verify period: post it now.
  const bool post_now = (!present || !same) && key_paired && !limit_reached &&
                        (posted_at_ms_ < 0 || now - posted_at_ms_ >= kVerifyAfterPostMs);
  set_problem(problem);
  if (post_now) {
    post(account, budget, std::move(done));
    return;
  }
  next_check_ms_ = in_line_ ? now + settings_->telemetry_recheck_interval_ms
                            : now + std::max(kVerifyAfterPostMs, kRetryAfterErrorMs);
  if (!in_line_) {
    done();
    return;
  }
  host_.count("telemetry_config_in_line");
  // In line as far as Tesla's config store goes; the car itself may still fail to connect.
  errors_->refresh_if_due([this, done]() {
    if (std::string e = errors_->error_for(vin_); !e.empty()) {
      host_.count("telemetry_car_errors");
      set_problem("the car reports a telemetry error: " + e);
    }
    done();
  });
}

void TelemetryConfigSync::post(TeslaAccount& account, DailyBudget* budget,
                               std::function<void()> done) {
  FleetCall c;
  c.category = "telemetry_config";
  c.conn = conn_;
  c.budget = budget;
  const std::string body = telemetry_config_request_body({vin_}, target_->jws);
  c.build = [body](const std::string& base, const std::string&) {
    HttpRequest req;
    req.method = "POST";
    req.url = base + "/api/1/vehicles/fleet_telemetry_config_jws";
    req.headers = {{"Content-Type", "application/json"}, {"Accept", "application/json"}};
    req.body = body;
    return req;
  };
  posted_at_ms_ = host_.now_ms();
  next_check_ms_ = posted_at_ms_ + kVerifyAfterPostMs;
  host_.count("telemetry_config_posts");
  account.call(std::move(c), [this, done](const FleetReply& r) {
    on_post(r);
    done();
  });
}

void TelemetryConfigSync::on_post(const FleetReply& r) {
  if (r.outcome.kind != ApiOutcome::Kind::ok) {
    set_problem("posting the config failed: " + r.outcome.reason);
    return;
  }
  boost::system::error_code ec;
  json::value v = json::parse(r.body, ec);
  auto* resp = (!ec && v.is_object()) ? v.as_object().if_contains("response") : nullptr;
  auto* skipped =
      (resp && resp->is_object()) ? resp->as_object().if_contains("skipped_vehicles") : nullptr;
  if (!skipped || !skipped->is_object()) return;  // nothing skipped; GET will tell
  for (const auto& [reason, vins] : skipped->as_object()) {
    if (!vins.is_array()) continue;
    for (const auto& x : vins.as_array()) {
      if (x.is_string() && x.as_string() == vin_) {
        host_.count("telemetry_config_skipped");
        set_problem("Tesla skipped the car: " + std::string(reason));
      }
    }
  }
}

}  // namespace oemlink::tesla
