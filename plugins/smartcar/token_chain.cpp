#include "token_chain.hpp"

#include "client_auth.hpp"
#include "error_classifier.hpp"
#include "json_fields.hpp"
#include "reauth_link.hpp"
#include "signals_client.hpp"

#include <openssl/crypto.h>
#include <boost/json/parse.hpp>

#include <algorithm>
#include <array>
#include <charconv>

namespace oemlink::smartcar {
namespace {

int64_t parse_ms(const std::string& s) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && p == s.data() + s.size() && v > 0 ? v : 0;
}

}  // namespace

TokenChain::TokenChain(Host host, std::shared_ptr<const SmartcarSettings> settings,
                       std::string name)
    : host_(host), settings_(std::move(settings)), name_(std::move(name)) {}

void TokenChain::add_member(ConnHandle conn, std::string vehicle_id) {
  std::lock_guard lock(mu_);
  for (const auto& m : members_)
    if (m.first == conn) return;
  members_.emplace_back(conn, std::move(vehicle_id));
  unloaded_.push_back(conn);
}

void TokenChain::remove_member(ConnHandle conn) {
  std::lock_guard lock(mu_);
  std::erase_if(members_, [conn](const auto& m) { return m.first == conn; });
  std::erase(unloaded_, conn);
  stored_issued_.erase(conn);
  if (refresh_for_ == conn) refresh_for_ = nullptr;
}

size_t TokenChain::member_count() const {
  std::lock_guard lock(mu_);
  return members_.size();
}

uint64_t TokenChain::refreshes() const {
  std::lock_guard lock(mu_);
  return refreshes_;
}

void TokenChain::load_members() {
  for (ConnHandle conn : unloaded_) {
    Pair pair;
    std::string expires, issued;
    if (!host_.secret_get(conn, kRefreshTokenKey, pair.refresh) || pair.refresh.empty()) {
      stored_issued_[conn] = -1;
      continue;
    }
    host_.secret_get(conn, kAccessTokenKey, pair.access);
    if (host_.secret_get(conn, kAccessExpiresKey, expires))
      pair.access_expires_at_ms = parse_ms(expires);
    if (host_.secret_get(conn, kIssuedAtKey, issued)) pair.issued_at_ms = parse_ms(issued);
    stored_issued_[conn] = pair.issued_at_ms;
    merge(std::move(pair));
  }
  unloaded_.clear();
}

void TokenChain::merge(Pair pair) {
  if (have_current_ && pair.refresh == current_.refresh) return;
  // A refresh token this chain has not tried: the newest one wins, and on a dead chain any
  // untried one is worth a try (an operator or a re-link seeded it).
  const bool dead = !reauth_reason_.empty();
  const bool newer = pair.issued_at_ms > current_.issued_at_ms && !pending_persist_ && !refreshing_;
  if (!have_current_ || dead || newer) {
    current_ = std::move(pair);
    have_current_ = true;
    reauth_reason_.clear();
    reauth_url_.clear();
  }
}

bool TokenChain::write_pair(ConnHandle member, const Pair& pair) {
  const std::string expires = std::to_string(pair.access_expires_at_ms);
  const std::string issued = std::to_string(pair.issued_at_ms);
  const std::array<std::pair<std::string_view, std::string_view>, 4> kv{{
      {kAccessTokenKey, pair.access},
      {kRefreshTokenKey, pair.refresh},
      {kAccessExpiresKey, expires},
      {kIssuedAtKey, issued},
  }};
  if (host_.secret_put(member, kv)) {
    stored_issued_[member] = pair.issued_at_ms;
    return true;
  }
  host_.count("token_store_failures");
  host_.log(OEMLINK_LOG_ERROR, "smartcar: storing the rotated tokens of " + name_ + " failed",
            member);
  return false;
}

bool TokenChain::persist(const Pair& pair, ConnHandle first) {
  const bool first_is_member = std::any_of(members_.begin(), members_.end(),
                                           [first](const auto& m) { return m.first == first; });
  if (first_is_member && write_pair(first, pair)) return true;
  for (const auto& m : members_)
    if (m.first != first && write_pair(m.first, pair)) return true;
  return false;
}

void TokenChain::propagate_to(ConnHandle member) {
  std::lock_guard lock(mu_);
  if (!have_current_ || pending_persist_ || refreshing_ || !reauth_reason_.empty()) return;
  auto it = stored_issued_.find(member);
  // Not loaded yet: the next get() reads it first (its pair may be the newest).
  if (it == stored_issued_.end() || it->second >= current_.issued_at_ms) return;
  write_pair(member, current_);
}

void TokenChain::get(ConnHandle asking, Callback cb) {
  using O = TokenResult::Outcome;
  std::unique_lock lock(mu_);
  load_members();
  if (pending_persist_) {
    // The only copy of a live refresh token is in memory: store it before anything else.
    if (!persist(current_, asking)) {
      lock.unlock();
      return cb({O::retry,
                 {},
                 "the rotated Smartcar tokens could not be stored yet; retrying before they are "
                 "used",
                 {},
                 0});
    }
    pending_persist_ = false;
  }
  if (!reauth_reason_.empty()) {
    TokenResult r{O::reauth, {}, reauth_reason_, reauth_url_, 0};
    lock.unlock();
    return cb(r);
  }
  if (!have_current_) {
    lock.unlock();
    return cb({O::reauth,
               {},
               "no refresh_token stored for this connection: link the car again or seed it with "
               "`oemlink secrets set <connection> refresh_token --file F`",
               {},
               0});
  }
  const int64_t now = host_.now_ms();
  const int64_t margin = settings_->token_refresh_margin.count();
  if (!refreshing_ && !current_.access.empty() && current_.access_expires_at_ms - margin > now) {
    std::string token = current_.access;
    lock.unlock();
    return cb({O::ready, std::move(token), {}, {}, 0});
  }
  waiters_.push_back({asking, std::move(cb)});
  if (refreshing_) return;
  refresh_for_ = asking;
  start_refresh(lock);
}

void TokenChain::refresh_after_401(const std::string& rejected, ConnHandle asking, Callback cb) {
  {
    std::lock_guard lock(mu_);
    if (current_.access == rejected) current_.access_expires_at_ms = 0;
  }
  get(asking, std::move(cb));
}

void TokenChain::start_refresh(std::unique_lock<std::mutex>& lock) {
  refreshing_ = true;
  ++refreshes_;
  HttpRequest req;
  req.method = "POST";
  req.url = settings_->auth_base_url + "/oauth/token";
  req.timeout_ms = static_cast<uint32_t>(settings_->request_timeout.count());
  req.headers = {{"Authorization", basic_auth(settings_->client_id, settings_->client_secret)},
                 {"Content-Type", "application/x-www-form-urlencoded"},
                 {"Accept", "application/json"},
                 {"User-Agent", "oemlink-smartcar/0.1"}};
  req.body = "grant_type=refresh_token&refresh_token=" + url_encode(current_.refresh);
  const ConnHandle conn = refresh_for_;
  lock.unlock();
  host_.count("token_refreshes");
  // Held until the answer: the host answers every request exactly once (RETRY at shutdown).
  auto self = shared_from_this();
  const bool started =
      host_.http(conn, req, [self](const HttpResponse& r) { self->on_refresh_answer(r); });
  OPENSSL_cleanse(req.body.data(), req.body.size());
  OPENSSL_cleanse(req.headers[0].second.data(), req.headers[0].second.size());
  if (!started) {
    lock.lock();
    finish(lock, {TokenResult::Outcome::retry, {}, "the host refused the token request", {}, 0});
  }
}

void TokenChain::on_refresh_answer(const HttpResponse& r) {
  using O = TokenResult::Outcome;
  std::unique_lock lock(mu_);
  const int64_t now = host_.now_ms();
  if (r.status != OEMLINK_OK)
    return finish(
        lock,
        {O::retry, {}, "token refresh failed: " + std::string(r.error.substr(0, 200)), {}, 0});
  if (r.http_status != 200) {
    host_.count("token_refresh_errors");
    SmartcarError e = classify_error(r.http_status, r.body, r.header("retry-after"), now);
    if (e.action == ErrorAction::rate_limited)
      return finish(lock, {O::rate_limited, {}, "token refresh: " + e.reason, {}, e.until_ms});
    if (e.action == ErrorAction::reauth || r.http_status == 400 || r.http_status == 401 ||
        r.http_status == 403) {
      reauth_reason_ = "the refresh token was refused (" + e.reason + ")";
      reauth_url_ = e.reauth_url;
      // The members not waiting here learn it now: the host stops polling a car in NEEDS_REAUTH,
      // so they would not find out by themselves. Waiters report it from their own rounds.
      std::vector<std::pair<ConnHandle, std::string>> others;
      for (const auto& m : members_)
        if (std::none_of(waiters_.begin(), waiters_.end(),
                         [&](const Waiter& w) { return w.conn == m.first; }))
          others.push_back(m);
      const TokenResult result{O::reauth, {}, reauth_reason_, reauth_url_, 0};
      if (members_.size() > 1)
        host_.log(OEMLINK_LOG_WARN, "smartcar: " + name_ + ": " + reauth_reason_ + "; all " +
                                        std::to_string(members_.size()) +
                                        " cars of this consent need re-authentication");
      finish(lock, result);
      for (const auto& [conn, vehicle] : others)
        host_.report_state(conn, OEMLINK_STATE_NEEDS_REAUTH, 0,
                           reauth_reason(*settings_, vehicle, result.reauth_url, result.reason));
      return;
    }
    return finish(lock, {O::retry, {}, "token refresh: " + e.reason, {}, 0});
  }
  boost::system::error_code ec;
  boost::json::value doc = boost::json::parse(r.body, ec);
  auto access = json::string(json::member(&doc, "access_token"));
  auto refresh = json::string(json::member(&doc, "refresh_token"));
  auto expires_in = json::number(json::member(&doc, "expires_in"));
  if (ec || !access || access->empty()) {
    host_.count("token_refresh_errors");
    return finish(lock,
                  {O::retry, {}, "token refresh answered 200 without an access_token", {}, 0});
  }
  Pair fresh;
  fresh.access = std::string(*access);
  // Smartcar always rotates; should an answer lack the new refresh token, the old one stays.
  fresh.refresh = refresh && !refresh->empty() ? std::string(*refresh) : current_.refresh;
  const double lifetime_s = expires_in && *expires_in > 0 && *expires_in < 1e7 ? *expires_in : 7200;
  fresh.access_expires_at_ms = now + static_cast<int64_t>(lifetime_s * 1000);
  fresh.issued_at_ms = now;
  load_members();  // a member opened during the refresh: read its pair before a write replaces it
  current_ = std::move(fresh);
  have_current_ = true;
  if (!persist(current_, refresh_for_)) {
    pending_persist_ = true;
    return finish(lock, {O::retry,
                         {},
                         "the rotated Smartcar tokens could not be stored; they are kept unused "
                         "in memory and stored before use on the next poll",
                         {},
                         0});
  }
  finish(lock, {O::ready, current_.access, {}, {}, 0});
}

void TokenChain::finish(std::unique_lock<std::mutex>& lock, const TokenResult& result) {
  refreshing_ = false;
  refresh_for_ = nullptr;
  std::vector<Waiter> waiters;
  waiters.swap(waiters_);
  lock.unlock();
  for (auto& w : waiters) w.cb(result);
}

}  // namespace oemlink::smartcar
