#include "region_resolver.hpp"

#include "call_counter.hpp"

#include <boost/json.hpp>

namespace oemlink::tesla {

RegionResolver::RegionResolver(Host host, std::shared_ptr<const TeslaSettings> settings,
                               std::string account)
    : host_(host), settings_(std::move(settings)), account_(std::move(account)) {}

std::string RegionResolver::cached() const {
  std::lock_guard lock(mu_);
  return base_url_;
}

void RegionResolver::redirect(const std::string& base_url) {
  std::lock_guard lock(mu_);
  if (base_url != base_url_)
    host_.log(OEMLINK_LOG_INFO, "tesla: account " + account_ + ": wrong region (421); " +
                                    (base_url.empty() ? "asking again" : "now " + base_url));
  base_url_ = base_url;
  host_.count("region_redirects");
}

void RegionResolver::resolve(const std::string& access_token, Callback cb) {
  std::unique_lock lock(mu_);
  if (!base_url_.empty()) {
    std::string base = base_url_;
    lock.unlock();
    cb(ApiOutcome::of(ApiOutcome::Kind::ok), base);
    return;
  }
  waiters_.push_back(std::move(cb));
  if (asking_) return;
  asking_ = true;
  lock.unlock();
  HttpRequest req;
  req.url = settings_->fleet_api_base_url + "/api/1/users/region";
  req.headers = {{"Authorization", "Bearer " + access_token}, {"Accept", "application/json"}};
  req.timeout_ms = uint32_t(settings_->http_timeout_ms);
  std::weak_ptr<RegionResolver> weak = weak_from_this();
  if (!host_.http(nullptr, req, [weak](const HttpResponse& r) {
        if (auto self = weak.lock()) self->on_answer(r);
      })) {
    HttpResponse refused;
    refused.error = "the host refused the region request";
    on_answer(refused);
  }
}

void RegionResolver::on_answer(const HttpResponse& r) {
  count_call(host_, "region", r);
  ApiOutcome outcome = classify_fleet_response(r, host_.now_ms());
  std::string base;
  if (outcome.kind == ApiOutcome::Kind::ok) {
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(r.body, ec);
    const boost::json::value* resp =
        (!ec && v.is_object()) ? v.as_object().if_contains("response") : nullptr;
    const boost::json::value* url =
        (resp && resp->is_object()) ? resp->as_object().if_contains("fleet_api_base_url") : nullptr;
    if (url && url->is_string() &&
        (url->as_string().starts_with("https://") || url->as_string().starts_with("http://"))) {
      base = std::string(url->as_string());
      while (!base.empty() && base.back() == '/') base.pop_back();
    } else {
      outcome.kind = ApiOutcome::Kind::retry;
      outcome.reason = "region answer has no fleet_api_base_url";
      host_.count("region_bad_answers");
    }
  } else if (outcome.kind == ApiOutcome::Kind::misdirected && !outcome.redirect_base.empty()) {
    base = outcome.redirect_base;
    outcome.kind = ApiOutcome::Kind::ok;
  }
  std::vector<Callback> waiters;
  {
    std::lock_guard lock(mu_);
    asking_ = false;
    if (!base.empty()) base_url_ = base;
    waiters.swap(waiters_);
  }
  for (auto& w : waiters) w(outcome, base);
}

}  // namespace oemlink::tesla
