#include "region_resolver.hpp"

#include "call_counter.hpp"

#include <boost/json.hpp>

#include <cctype>
#include <optional>

namespace oemlink::tesla {
namespace {

struct BaseUrl {
  bool https = false;
  std::string host;  // lower case
};

// "http[s]://host[:port][/path]" with a DNS-style host, decimal port and a plain path; nothing
// that a URL parser could read as another host (userinfo, backslashes, brackets, query).
std::optional<BaseUrl> parse_base_url(std::string_view url) {
  BaseUrl out;
  if (url.starts_with("https://")) {
    out.https = true;
    url.remove_prefix(8);
  } else if (url.starts_with("http://")) {
    url.remove_prefix(7);
  } else {
    return std::nullopt;
  }
  const size_t slash = url.find('/');
  std::string_view authority = url.substr(0, slash);
  const std::string_view path = slash == std::string_view::npos ? "" : url.substr(slash);
  std::string_view port;
  if (const size_t colon = authority.find(':'); colon != std::string_view::npos) {
    port = authority.substr(colon + 1);
    authority = authority.substr(0, colon);
    if (port.empty() || port.size() > 5) return std::nullopt;
    unsigned number = 0;
    for (char c : port) {
      if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
      number = number * 10 + unsigned(c - '0');
    }
    if (number == 0 || number > 65535) return std::nullopt;
  }
  if (authority.empty() || authority.size() > 253) return std::nullopt;
  for (char c : authority) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-') return std::nullopt;
    out.host.push_back(char(std::tolower(static_cast<unsigned char>(c))));
  }
  for (char c : path)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '/' && c != '.' && c != '-' &&
        c != '_' && c != '~')
      return std::nullopt;
  return out;
}

bool under_tesla_domain(const std::string& host) {
  return host.ends_with(".tesla.com") || host.ends_with(".tesla.cn");
}

// For a log line: the host of an answer's URL, or a note that it was not one.
std::string shown_host(std::string_view url) {
  auto parts = parse_base_url(url);
  return parts ? parts->host : "a malformed URL";
}

}  // namespace

bool region_base_url_allowed(std::string_view url, std::string_view configured) {
  const auto u = parse_base_url(url);
  if (!u) return false;
  const auto c = parse_base_url(configured);
  if (!u->https && !(c && !c->https)) return false;
  if (c && u->host == c->host && u->https == c->https) return true;
  return u->https && under_tesla_domain(u->host);
}

RegionResolver::RegionResolver(Host host, std::shared_ptr<const TeslaSettings> settings,
                               std::string account)
    : host_(host), settings_(std::move(settings)), account_(std::move(account)) {}

std::string RegionResolver::cached() const {
  std::lock_guard lock(mu_);
  return base_url_;
}

void RegionResolver::redirect(const std::string& named) {
  std::string base_url = named;
  if (!base_url.empty() && !region_base_url_allowed(base_url, settings_->fleet_api_base_url)) {
    host_.count("region_refused_urls");
    host_.log(OEMLINK_LOG_WARN, "tesla: account " + account_ + ": a 421 named a base URL on " +
                                    shown_host(base_url) +
                                    ", outside Tesla's domains and the configured host; asking "
                                    "the region instead");
    base_url.clear();
  }
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
    if (url && url->is_string()) {
      base = std::string(url->as_string());
      while (!base.empty() && base.back() == '/') base.pop_back();
    }
    if (!base.empty() && !region_base_url_allowed(base, settings_->fleet_api_base_url)) {
      host_.count("region_refused_urls");
      outcome.kind = ApiOutcome::Kind::retry;
      outcome.reason = "region answer names a base URL on " + shown_host(base) +
                       ", outside Tesla's domains and the configured host";
      base.clear();
    } else if (base.empty()) {
      outcome.kind = ApiOutcome::Kind::retry;
      outcome.reason = "region answer has no fleet_api_base_url";
      host_.count("region_bad_answers");
    }
  } else if (outcome.kind == ApiOutcome::Kind::misdirected && !outcome.redirect_base.empty()) {
    if (region_base_url_allowed(outcome.redirect_base, settings_->fleet_api_base_url)) {
      base = outcome.redirect_base;
      outcome.kind = ApiOutcome::Kind::ok;
    } else {
      host_.count("region_refused_urls");
      outcome.kind = ApiOutcome::Kind::retry;
      outcome.reason = "the region lookup's 421 names a base URL on " +
                       shown_host(outcome.redirect_base) +
                       ", outside Tesla's domains and the configured host";
    }
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
