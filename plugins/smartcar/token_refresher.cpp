#include "token_refresher.hpp"

#include "error_classifier.hpp"
#include "json_fields.hpp"
#include "signals_client.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <boost/json/parse.hpp>

#include <array>
#include <charconv>
#include <utility>
#include <vector>

namespace oemlink::smartcar {
namespace {

constexpr std::string_view kAccess = "access_token";
constexpr std::string_view kRefresh = "refresh_token";
constexpr std::string_view kExpires = "access_expires_at_ms";

std::string basic_auth(std::string_view id, std::string_view secret) {
  std::string plain = std::string(id) + ":" + std::string(secret);
  std::string out(4 * ((plain.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(plain.data()),
                                static_cast<int>(plain.size()));
  OPENSSL_cleanse(plain.data(), plain.size());
  out.resize(n > 0 ? static_cast<size_t>(n) : 0);
  return "Basic " + out;
}

}  // namespace

TokenRefresher::TokenRefresher(Host host, ConnHandle conn,
                               std::shared_ptr<const SmartcarSettings> settings)
    : host_(host), conn_(conn), settings_(std::move(settings)) {}

bool TokenRefresher::load() {
  std::string expires;
  host_.secret_get(conn_, kAccess, tokens_.access);
  if (!host_.secret_get(conn_, kRefresh, tokens_.refresh)) return false;
  tokens_.access_expires_at_ms = 0;
  if (host_.secret_get(conn_, kExpires, expires)) {
    int64_t v = 0;
    auto [p, ec] = std::from_chars(expires.data(), expires.data() + expires.size(), v);
    if (ec == std::errc() && p == expires.data() + expires.size()) tokens_.access_expires_at_ms = v;
  }
  loaded_ = true;
  return true;
}

bool TokenRefresher::persist(const Tokens& t) {
  const std::string expires = std::to_string(t.access_expires_at_ms);
  const std::array<std::pair<std::string_view, std::string_view>, 3> kv{{
      {kAccess, t.access},
      {kRefresh, t.refresh},
      {kExpires, expires},
  }};
  return host_.secret_put(conn_, kv);
}

void TokenRefresher::ensure(bool force, std::function<void(const TokenResult&)> done) {
  using O = TokenResult::Outcome;
  if (pending_) {
    if (!persist(*pending_)) {
      host_.count("token_store_failures");
      return done({O::retry,
                   "the rotated Smartcar tokens could not be stored yet; retrying "
                   "before they are used",
                   {},
                   0});
    }
    tokens_ = std::move(*pending_);
    pending_.reset();
    loaded_ = true;
  }
  if (!loaded_ && !load()) {
    return done({O::reauth,
                 "no refresh_token stored for this connection: seed it with `oemlink secrets set "
                 "<connection> refresh_token --file F`",
                 {},
                 0});
  }
  const int64_t now = host_.now_ms();
  const int64_t margin = settings_->token_refresh_margin.count();
  if (!force && !tokens_.access.empty() && tokens_.access_expires_at_ms - margin > now)
    return done({O::ready, {}, {}, 0});
  refresh(std::move(done));
}

void TokenRefresher::refresh(std::function<void(const TokenResult&)> done) {
  HttpRequest req;
  req.method = "POST";
  req.url = settings_->auth_base_url + "/oauth/token";
  req.timeout_ms = static_cast<uint32_t>(settings_->request_timeout.count());
  req.headers = {{"Authorization", basic_auth(settings_->client_id, settings_->client_secret)},
                 {"Content-Type", "application/x-www-form-urlencoded"},
                 {"Accept", "application/json"},
                 {"User-Agent", "oemlink-smartcar/0.1"}};
  req.body = "grant_type=refresh_token&refresh_token=" + url_encode(tokens_.refresh);
  ++refreshes_;
  host_.count("token_refreshes");
  auto self = shared_from_this();
  auto shared_done = std::make_shared<std::function<void(const TokenResult&)>>(std::move(done));
  const bool started = host_.http(conn_, req, [self, shared_done](const HttpResponse& r) {
    self->on_refresh_answer(r, *shared_done);
  });
  OPENSSL_cleanse(req.body.data(), req.body.size());
  OPENSSL_cleanse(req.headers[0].second.data(), req.headers[0].second.size());
  if (!started)
    (*shared_done)({TokenResult::Outcome::retry, "the host refused the token request", {}, 0});
}

void TokenRefresher::on_refresh_answer(const HttpResponse& r,
                                       const std::function<void(const TokenResult&)>& done) {
  using O = TokenResult::Outcome;
  const int64_t now = host_.now_ms();
  if (r.status != OEMLINK_OK)
    return done({O::retry, "token refresh failed: " + std::string(r.error.substr(0, 200)), {}, 0});
  if (r.http_status != 200) {
    host_.count("token_refresh_errors");
    SmartcarError e = classify_error(r.http_status, r.body, r.header("retry-after"), now);
    if (e.action == ErrorAction::rate_limited)
      return done({O::rate_limited, "token refresh: " + e.reason, {}, e.until_ms});
    if (e.action == ErrorAction::reauth || r.http_status == 400 || r.http_status == 401 ||
        r.http_status == 403)
      return done({O::reauth, "the refresh token was refused (" + e.reason + ")", e.reauth_url, 0});
    return done({O::retry, "token refresh: " + e.reason, {}, 0});
  }
  boost::system::error_code ec;
  boost::json::value doc = boost::json::parse(r.body, ec);
  auto access = json::string(json::member(&doc, "access_token"));
  auto refresh = json::string(json::member(&doc, "refresh_token"));
  auto expires_in = json::number(json::member(&doc, "expires_in"));
  if (ec || !access || access->empty()) {
    host_.count("token_refresh_errors");
    return done({O::retry, "token refresh answered 200 without an access_token", {}, 0});
  }
  Tokens fresh;
  fresh.access = std::string(*access);
  // Smartcar always rotates; should an answer lack the new refresh token, the old one stays.
  fresh.refresh = refresh && !refresh->empty() ? std::string(*refresh) : tokens_.refresh;
  const double lifetime_s = expires_in && *expires_in > 0 && *expires_in < 1e7 ? *expires_in : 7200;
  fresh.access_expires_at_ms = now + static_cast<int64_t>(lifetime_s * 1000);
  if (!persist(fresh)) {
    host_.count("token_store_failures");
    pending_ = std::move(fresh);
    return done({O::retry,
                 "the rotated Smartcar tokens could not be stored; they are kept unused in memory "
                 "and stored before use on the next poll",
                 {},
                 0});
  }
  tokens_ = std::move(fresh);
  loaded_ = true;
  done({O::ready, {}, {}, 0});
}

}  // namespace oemlink::smartcar
