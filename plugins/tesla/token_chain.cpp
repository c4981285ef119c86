#include "token_chain.hpp"

#include "fleet_api_status.hpp"
#include "form_encoding.hpp"
#include "token_answer.hpp"

#include <algorithm>
#include <charconv>

namespace oemlink::tesla {
namespace {

constexpr int64_t kFirstBackoffMs = 30'000;
constexpr int64_t kMaxBackoffMs = 30 * 60'000;

int64_t parse_ms(const std::string& s) {
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return (ec == std::errc() && ptr == s.data() + s.size() && v > 0) ? v : 0;
}

}  // namespace

TokenChain::TokenChain(Host host, std::shared_ptr<const TeslaSettings> settings, std::string name)
    : host_(host), settings_(std::move(settings)), name_(std::move(name)) {}

void TokenChain::add_member(ConnHandle conn) {
  std::lock_guard lock(mu_);
  if (std::find(members_.begin(), members_.end(), conn) != members_.end()) return;
  members_.push_back(conn);
  unloaded_.push_back(conn);
}

void TokenChain::load_members() {
  for (ConnHandle conn : unloaded_) {
    TokenPair pair;
    std::string expires, issued;
    if (!host_.secret_get(conn, kRefreshTokenKey, pair.refresh_token) ||
        pair.refresh_token.empty()) {
      stored_issued_[conn] = -1;
      continue;
    }
    host_.secret_get(conn, kAccessTokenKey, pair.access_token);
    if (host_.secret_get(conn, kAccessExpiresKey, expires))
      pair.access_expires_at_ms = parse_ms(expires);
    if (host_.secret_get(conn, kIssuedAtKey, issued)) pair.issued_at_ms = parse_ms(issued);
    stored_issued_[conn] = pair.issued_at_ms;
    merge(std::move(pair));
  }
  unloaded_.clear();
}

void TokenChain::merge(TokenPair pair) {
  if (!have_current_) {
    current_ = std::move(pair);
    have_current_ = true;
    reauth_reason_.clear();
    return;
  }
  if (pair.refresh_token == current_.refresh_token) return;
  for (const TokenPair& f : fallbacks_)
    if (f.refresh_token == pair.refresh_token) return;
  // A refresh token nobody here has tried: the chain may live again (an owner re-linked a car,
  // linked another car of the account, or an operator re-seeded).
  reauth_reason_.clear();
  if (pair.issued_at_ms > current_.issued_at_ms && !refreshing_) {
    // Tesla voids a user's older tokens when it issues new ones (a re-link is a new consent), so
    // the newest pair is the live one. A rotated pair still waiting to be stored is older than
    // this one: storing it later would overwrite the new pair with a dead one.
    if (pending_persist_) {
      pending_persist_ = false;
      host_.log(OEMLINK_LOG_WARN, "tesla: account " + name_ +
                                      ": an unstored rotated pair was superseded by a newer stored "
                                      "one (re-linked)");
    } else {
      fallbacks_.insert(fallbacks_.begin(), std::move(current_));
    }
    current_ = std::move(pair);
    backoff_ms_ = 0;
    next_attempt_ms_ = 0;
    return;
  }
  // Older, or a refresh is in flight (its answer replaces current_): kept as a fall-back, tried
  // when the current refresh token is refused. One newer than the refresh's start survives the
  // refresh's success (drop_fallbacks_voided_by_refresh).
  auto at = std::find_if(fallbacks_.begin(), fallbacks_.end(),
                         [&](const TokenPair& f) { return f.issued_at_ms < pair.issued_at_ms; });
  fallbacks_.insert(at, std::move(pair));
}

void TokenChain::drop_fallbacks_voided_by_refresh() {
  // The rotation voided every older token of this user; a pair stored while the refresh was in
  // flight may be newer than the one it rotated, and is kept.
  std::erase_if(fallbacks_,
                [&](const TokenPair& f) { return f.issued_at_ms <= refresh_started_ms_; });
}

void TokenChain::remove_member(ConnHandle conn) {
  std::lock_guard lock(mu_);
  members_.erase(std::remove(members_.begin(), members_.end(), conn), members_.end());
  unloaded_.erase(std::remove(unloaded_.begin(), unloaded_.end(), conn), unloaded_.end());
  stored_issued_.erase(conn);
}

std::vector<ConnHandle> TokenChain::members() const {
  std::lock_guard lock(mu_);
  return members_;
}

bool TokenChain::has_unpersisted_pair() const {
  std::lock_guard lock(mu_);
  return pending_persist_;
}

bool TokenChain::write_pair(ConnHandle member, const TokenPair& pair) {
  const std::string expires = std::to_string(pair.access_expires_at_ms);
  const std::string issued = std::to_string(pair.issued_at_ms);
  const std::pair<std::string_view, std::string_view> kv[] = {
      {kAccessTokenKey, pair.access_token},
      {kRefreshTokenKey, pair.refresh_token},
      {kAccessExpiresKey, expires},
      {kIssuedAtKey, issued}};
  if (host_.secret_put(member, kv)) {
    stored_issued_[member] = pair.issued_at_ms;
    return true;
  }
  host_.count("token_persist_failures");
  host_.log(OEMLINK_LOG_ERROR,
            "tesla: storing the rotated token pair of account " + name_ + " failed", member);
  return false;
}

bool TokenChain::persist(const TokenPair& pair, ConnHandle first) {
  const bool first_is_member = std::find(members_.begin(), members_.end(), first) != members_.end();
  if (first_is_member && write_pair(first, pair)) return true;
  for (ConnHandle m : members_)
    if (m != first && write_pair(m, pair)) return true;
  return false;
}

void TokenChain::propagate_to(ConnHandle member) {
  std::lock_guard lock(mu_);
  // Only a pair already durable somewhere, and only while no refresh may replace it mid-write.
  if (!have_current_ || pending_persist_ || refreshing_ || !reauth_reason_.empty()) return;
  auto it = stored_issued_.find(member);
  // Not loaded yet: the chain's next get() reads it first (its pair may be the newest).
  if (it == stored_issued_.end() || it->second >= current_.issued_at_ms) return;
  write_pair(member, current_);
}

void TokenChain::get(ConnHandle asking, Callback cb) {
  std::unique_lock lock(mu_);
  const int64_t now = host_.now_ms();
  load_members();
  if (pending_persist_) {
    // The only copy of a live refresh token is here: store it before anything else.
    if (!persist(current_, asking)) {
      lock.unlock();
      cb({TokenResult::Status::retry,
          {},
          "the rotated tokens of account " + name_ + " are not stored yet (secret store failing)"});
      return;
    }
    pending_persist_ = false;
    host_.log(OEMLINK_LOG_INFO, "tesla: rotated tokens of account " + name_ + " stored on retry");
  }
  if (!reauth_reason_.empty()) {
    std::string reason = reauth_reason_;
    lock.unlock();
    cb({TokenResult::Status::reauth, {}, reason});
    return;
  }
  if (!have_current_) {
    lock.unlock();
    cb({TokenResult::Status::reauth,
        {},
        "no refresh_token stored for account " + name_ +
            ": seed it with `oemlink secrets set <connection> refresh_token --file F`"});
    return;
  }
  // The margin is at most half the token's life: a short-lived token is not refreshed at once.
  int64_t margin = settings_->token_refresh_margin_ms;
  if (current_.issued_at_ms > 0 && current_.access_expires_at_ms > current_.issued_at_ms)
    margin = std::min(margin, (current_.access_expires_at_ms - current_.issued_at_ms) / 2);
  if (!current_.access_token.empty() && current_.access_expires_at_ms - margin > now) {
    std::string token = current_.access_token;
    lock.unlock();
    cb({TokenResult::Status::ok, std::move(token), {}});
    return;
  }
  waiters_.push_back(std::move(cb));
  if (refreshing_) return;
  refresh_for_ = asking;
  if (now < next_attempt_ms_) {
    finish(lock, {TokenResult::Status::retry,
                  {},
                  "token refresh of account " + name_ + " backing off for " +
                      std::to_string((next_attempt_ms_ - now + 999) / 1000) + " s"});
    return;
  }
  start_refresh(lock);
}

void TokenChain::refresh_after_401(const std::string& rejected, ConnHandle asking, Callback cb) {
  {
    std::lock_guard lock(mu_);
    if (current_.access_token == rejected) current_.access_expires_at_ms = 0;
  }
  get(asking, std::move(cb));
}

void TokenChain::start_refresh(std::unique_lock<std::mutex>& lock) {
  refreshing_ = true;
  refresh_started_ms_ = host_.now_ms();
  HttpRequest req;
  req.method = "POST";
  req.url = settings_->auth_base_url + "/oauth2/v3/token";
  req.headers = {{"Content-Type", "application/x-www-form-urlencoded"},
                 {"Accept", "application/json"}};
  req.body = form_encode({{"grant_type", "refresh_token"},
                          {"client_id", settings_->client_id},
                          {"refresh_token", current_.refresh_token}});
  req.timeout_ms = uint32_t(settings_->http_timeout_ms);
  std::string used = current_.refresh_token;
  lock.unlock();
  std::weak_ptr<TokenChain> weak = weak_from_this();
  const bool started = host_.http(nullptr, req, [weak, used](const HttpResponse& r) {
    if (auto self = weak.lock()) self->on_refresh_response(r, used);
  });
  if (!started) {
    lock.lock();
    fail_retry(lock, "the host refused the token request");
  }
}

void TokenChain::on_refresh_response(const HttpResponse& r, std::string used_refresh) {
  std::unique_lock lock(mu_);
  const int64_t now = host_.now_ms();
  if (r.status != OEMLINK_OK) {
    fail_retry(lock, "token endpoint unreachable: " + std::string(r.error.substr(0, 200)));
    return;
  }
  const std::string error = envelope_error(r.body);
  if (r.http_status == 200) {
    const TokenAnswer answer = parse_token_answer(r.body);
    const bool new_refresh = !answer.refresh_token.empty();
    if (!answer.well_formed) {
      host_.count("token_refresh_bad_answers");
      if (new_refresh) {
        // Tesla voided the refresh token we sent when it issued this one: losing it would lose
        // the chain. Kept (with no access token, so the next get() refreshes with it).
        TokenPair kept;
        kept.refresh_token = answer.refresh_token;
        kept.issued_at_ms = now;
        load_members();
        current_ = std::move(kept);
        have_current_ = true;
        drop_fallbacks_voided_by_refresh();
        if (!persist(current_, refresh_for_)) pending_persist_ = true;
      }
      fail_retry(lock, "token endpoint answered 200 without access_token/expires_in");
      return;
    }
    TokenPair pair;
    pair.access_token = answer.access_token;
    // No new refresh token means the old one was not rotated and stays valid.
    pair.refresh_token = new_refresh ? answer.refresh_token : used_refresh;
    pair.access_expires_at_ms = now + answer.lifetime_ms;
    pair.issued_at_ms = now;
    host_.count("token_refreshes");
    load_members();  // a member opened during the refresh: read its pair before a write replaces it
    current_ = std::move(pair);
    have_current_ = true;
    drop_fallbacks_voided_by_refresh();
    if (!persist(current_, refresh_for_)) {
      // Not used until stored: a crash now loses it either way, but a live token handed out
      // unstored could be rotated again and lose the whole chain on the next crash.
      pending_persist_ = true;
      fail_retry(lock, "could not store the rotated tokens of account " + name_ +
                           "; the new token is not used until it is stored");
      return;
    }
    backoff_ms_ = 0;
    next_attempt_ms_ = 0;
    finish(lock, {TokenResult::Status::ok, current_.access_token, {}});
    return;
  }
  const bool refused = (r.http_status == 400 || r.http_status == 401) &&
                       (error.find("login_required") != std::string::npos ||
                        error.find("invalid_grant") != std::string::npos);
  if (refused) {
    host_.count("token_refresh_refused");
    if (!fallbacks_.empty()) {
      host_.log(OEMLINK_LOG_WARN, "tesla: account " + name_ + ": refresh token refused (" + error +
                                      "); trying an older one another connection holds");
      current_ = std::move(fallbacks_.front());
      fallbacks_.erase(fallbacks_.begin());
      start_refresh(lock);
      return;
    }
    reauth_reason_ = "Tesla refused the refresh token of account " + name_ + " (" + error +
                     "): the owner must link the car again";
    const std::vector<ConnHandle> members = members_;
    const std::string reason = reauth_reason_;
    finish(lock, {TokenResult::Status::reauth, {}, reason});
    for (ConnHandle m : members) host_.report_state(m, OEMLINK_STATE_NEEDS_REAUTH, 0, reason);
    return;
  }
  fail_retry(lock, "token endpoint answered HTTP " + std::to_string(r.http_status) +
                       (error.empty() ? "" : " (" + error + ")"));
}

void TokenChain::fail_retry(std::unique_lock<std::mutex>& lock, std::string reason) {
  host_.count("token_refresh_failures");
  backoff_ms_ = backoff_ms_ ? std::min(backoff_ms_ * 2, kMaxBackoffMs) : kFirstBackoffMs;
  next_attempt_ms_ = host_.now_ms() + backoff_ms_;
  host_.log(OEMLINK_LOG_WARN, "tesla: account " + name_ + ": " + reason + " (next attempt in " +
                                  std::to_string(backoff_ms_ / 1000) + " s)");
  finish(lock, {TokenResult::Status::retry, {}, std::move(reason)});
}

void TokenChain::finish(std::unique_lock<std::mutex>& lock, const TokenResult& result) {
  refreshing_ = false;
  std::vector<Callback> waiters;
  waiters.swap(waiters_);
  lock.unlock();
  for (auto& w : waiters) w(result);
}

}  // namespace oemlink::tesla
