#include "telemetry_errors.hpp"

#include "call_counter.hpp"

#include <boost/json.hpp>

namespace oemlink::tesla {

TelemetryErrors::TelemetryErrors(Host host, std::shared_ptr<const TeslaSettings> settings,
                                 std::shared_ptr<PartnerToken> partner)
    : host_(host), settings_(std::move(settings)), partner_(std::move(partner)) {}

std::string TelemetryErrors::error_for(const std::string& vin) const {
  std::lock_guard lock(mu_);
  auto it = by_vin_.find(vin);
  return it == by_vin_.end() ? std::string() : it->second;
}

void TelemetryErrors::refresh_if_due(std::function<void()> done) {
  std::unique_lock lock(mu_);
  const int64_t now = host_.now_ms();
  if (read_at_ms_ >= 0 && now - read_at_ms_ < settings_->telemetry_recheck_interval_ms) {
    lock.unlock();
    done();
    return;
  }
  waiters_.push_back(std::move(done));
  if (reading_) return;
  reading_ = true;
  read_at_ms_ = now;  // one attempt per interval, answered or not
  lock.unlock();
  std::weak_ptr<TelemetryErrors> weak = weak_from_this();
  partner_->get([weak](bool ok, const std::string& token, const std::string&) {
    auto self = weak.lock();
    if (!self) return;
    if (!ok) {
      HttpResponse none;
      none.error = "no partner token";
      self->on_answer(none);
      return;
    }
    HttpRequest req;
    req.url =
        self->settings_->fleet_api_base_url + "/api/1/partner_accounts/fleet_telemetry_errors";
    req.headers = {{"Authorization", "Bearer " + token}, {"Accept", "application/json"}};
    req.timeout_ms = uint32_t(self->settings_->http_timeout_ms);
    if (!self->host_.http(nullptr, req, [weak](const HttpResponse& r) {
          if (auto s = weak.lock()) s->on_answer(r);
        })) {
      HttpResponse refused;
      refused.error = "the host refused the request";
      self->on_answer(refused);
    }
  });
}

void TelemetryErrors::on_answer(const HttpResponse& r) {
  std::map<std::string, std::string> found;
  bool parsed = false;
  if (r.status == OEMLINK_OK) count_call(host_, "telemetry_errors", r);
  if (r.status == OEMLINK_OK && r.http_status == 200) {
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(r.body, ec);
    auto* resp = (!ec && v.is_object()) ? v.as_object().if_contains("response") : nullptr;
    auto* list = (resp && resp->is_object())
                     ? resp->as_object().if_contains("fleet_telemetry_errors")
                     : nullptr;
    if (list && list->is_array()) {
      parsed = true;
      for (const auto& e : list->as_array()) {
        if (!e.is_object()) continue;
        auto* vin = e.as_object().if_contains("vin");
        auto* name = e.as_object().if_contains("name");
        auto* err = e.as_object().if_contains("error");
        if (!vin || !vin->is_string()) continue;
        std::string text = (name && name->is_string()) ? std::string(name->as_string()) : "";
        if (err && err->is_string())
          text += (text.empty() ? "" : ": ") + std::string(err->as_string());
        found[std::string(vin->as_string())] = text.substr(0, 200);
      }
    }
  }
  if (!parsed) host_.count("telemetry_errors_unreadable");
  std::vector<std::function<void()>> waiters;
  {
    std::lock_guard lock(mu_);
    reading_ = false;
    if (parsed) by_vin_ = std::move(found);
    waiters.swap(waiters_);
  }
  for (auto& w : waiters) w();
}

}  // namespace oemlink::tesla
