#include "partner_token.hpp"

#include "fleet_api_status.hpp"
#include "form_encoding.hpp"

#include <boost/json.hpp>

namespace oemlink::tesla {
namespace {
constexpr int64_t kRetryAfterFailureMs = 5 * 60'000;
}

PartnerToken::PartnerToken(Host host, std::shared_ptr<const TeslaSettings> settings)
    : host_(host), settings_(std::move(settings)) {}

void PartnerToken::get(Callback cb) {
  std::unique_lock lock(mu_);
  const int64_t now = host_.now_ms();
  if (!token_.empty() && expires_at_ms_ - settings_->token_refresh_margin_ms > now) {
    std::string t = token_;
    lock.unlock();
    cb(true, t, {});
    return;
  }
  if (now < next_attempt_ms_) {
    lock.unlock();
    cb(false, {}, "partner token request backing off after a failure");
    return;
  }
  waiters_.push_back(std::move(cb));
  if (asking_) return;
  asking_ = true;
  lock.unlock();
  HttpRequest req;
  req.method = "POST";
  req.url = settings_->auth_base_url + "/oauth2/v3/token";
  req.headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
  req.body = form_encode({{"grant_type", "client_credentials"},
                          {"client_id", settings_->client_id},
                          {"client_secret", settings_->client_secret},
                          {"audience", settings_->fleet_api_base_url},
                          {"scope", "openid vehicle_device_data"}});
  req.timeout_ms = uint32_t(settings_->http_timeout_ms);
  std::weak_ptr<PartnerToken> weak = weak_from_this();
  if (!host_.http(nullptr, req, [weak](const HttpResponse& r) {
        if (auto self = weak.lock()) self->on_answer(r);
      })) {
    HttpResponse refused;
    refused.error = "the host refused the request";
    on_answer(refused);
  }
}

void PartnerToken::on_answer(const HttpResponse& r) {
  std::string token, reason;
  int64_t expires_in = 0;
  if (r.status == OEMLINK_OK && r.http_status == 200) {
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(r.body, ec);
    auto* o = (!ec && v.is_object()) ? &v.as_object() : nullptr;
    auto* t = o ? o->if_contains("access_token") : nullptr;
    auto* e = o ? o->if_contains("expires_in") : nullptr;
    if (t && t->is_string() && e && e->is_number()) {
      token = std::string(t->as_string());
      expires_in = int64_t(e->to_number<double>());
    } else {
      reason = "partner token answer has no access_token/expires_in";
    }
  } else {
    reason = r.status == OEMLINK_OK
                 ? "partner token refused: HTTP " + std::to_string(r.http_status) + " " +
                       envelope_error(r.body)
                 : "token endpoint unreachable";
  }
  std::vector<Callback> waiters;
  {
    std::lock_guard lock(mu_);
    asking_ = false;
    const int64_t now = host_.now_ms();
    if (!token.empty()) {
      token_ = token;
      expires_at_ms_ = now + expires_in * 1000;
      host_.count("partner_token_refreshes");
    } else {
      next_attempt_ms_ = now + kRetryAfterFailureMs;
      host_.count("partner_token_failures");
      host_.log(OEMLINK_LOG_WARN, "tesla: " + reason);
    }
    waiters.swap(waiters_);
  }
  for (auto& w : waiters) w(!token.empty(), token, reason);
}

}  // namespace oemlink::tesla
