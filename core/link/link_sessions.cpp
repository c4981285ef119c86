#include "core/link/link_sessions.hpp"

#include "core/common/secure_wipe.hpp"

namespace oemlink::link {

PendingLink::~PendingLink() {
  secure_wipe(verifier_);
}

LinkSessions::LinkSessions(std::chrono::milliseconds ttl, size_t max_pending)
    : ttl_(ttl), max_pending_(max_pending) {}

std::string LinkSessions::key_of(std::string_view state) {
  Digest d = sha256(state);
  return std::string(reinterpret_cast<const char*>(d.data()), d.size());
}

bool LinkSessions::expired(const PendingLink& link, int64_t now_ms) const {
  return now_ms - link.created_ms() >= ttl_.count();
}

size_t LinkSessions::sweep(int64_t now_ms) {
  size_t dropped = 0;
  while (!order_.empty() && expired(order_.front().link, now_ms)) {
    by_state_.erase(order_.front().key);
    order_.pop_front();
    ++dropped;
  }
  return dropped;
}

std::optional<StartedLink> LinkSessions::begin(LinkRequest request, bool pkce, int64_t now_ms) {
  if (by_state_.size() >= max_pending_) sweep(now_ms);
  if (by_state_.size() >= max_pending_) return std::nullopt;
  StartedLink started;
  started.state = random_token();
  started.nonce = random_token();
  std::string verifier;
  if (pkce) {
    verifier = random_token();
    started.challenge = pkce_challenge(verifier);
  }
  std::string key = key_of(started.state);
  order_.push_back(Entry{
      key, PendingLink(std::move(request), std::move(verifier), sha256(started.nonce), now_ms)});
  by_state_.emplace(std::move(key), std::prev(order_.end()));
  return started;
}

void LinkSessions::cancel(std::string_view state) {
  auto it = by_state_.find(key_of(state));
  if (it == by_state_.end()) return;
  order_.erase(it->second);
  by_state_.erase(it);
}

LinkSessions::Taken LinkSessions::take(std::string_view driver, std::string_view state,
                                       std::string_view cookie_nonce, int64_t now_ms) {
  Taken taken;
  auto it = by_state_.find(key_of(state));
  if (it == by_state_.end()) return taken;
  PendingLink link = std::move(it->second->link);
  order_.erase(it->second);
  by_state_.erase(it);
  if (link.request().driver != driver) return taken;
  if (expired(link, now_ms)) {
    taken.verdict = Verdict::expired;
    return taken;
  }
  // An absent cookie hashes like any other wrong one: one comparison path for both.
  if (cookie_nonce.empty() || !same_digest(sha256(cookie_nonce), link.nonce_digest())) {
    taken.verdict = Verdict::wrong_browser;
    return taken;
  }
  taken.verdict = Verdict::ok;
  taken.link.emplace(std::move(link));
  return taken;
}

}  // namespace oemlink::link
