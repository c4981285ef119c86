// LinkSessions: the links started at /link/<driver>/start and not yet called back.
//
// A start gets an unguessable `state` (sent to the maker, which hands it back to the callback)
// and a browser nonce (sent as a cookie, so only the browser that started the link can finish
// it: a state leaked from a log or a Referer is useless elsewhere). Kept per state: SHA-256 of
// the nonce, the PKCE verifier (RFC 7636) and what the start asked for. A state is single use
// (erased on its first callback, whatever the outcome), expires after linking.state_ttl, and at
// most linking.max_pending wait at once. States are looked up by their SHA-256, so a lookup's
// timing says nothing about the stored values; the cookie is compared in constant time.
//
// Threading: the host loop thread. Times are the caller's steady clock in ms.
#pragma once

#include "core/link/link_tokens.hpp"

#include <chrono>
#include <cstdint>
#include <list>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace oemlink::link {

// What a start asked for, carried to its callback.
struct LinkRequest {
  std::string driver;                 // the driver instance's name
  std::string reauth_connection;      // re-authenticating this connection; "" for a new link
  std::string owner;                  // 0x address for the mint typed data; "" when not given
  std::vector<std::string> vehicles;  // link only these (VIN or maker id); empty: all
};

// A link waiting for its callback. The verifier is wiped when it goes.
class PendingLink {
 public:
  PendingLink(LinkRequest request, std::string verifier, Digest nonce_digest, int64_t created_ms)
      : request_(std::move(request)),
        verifier_(std::move(verifier)),
        nonce_digest_(nonce_digest),
        created_ms_(created_ms) {}
  PendingLink(PendingLink&&) noexcept = default;
  PendingLink& operator=(PendingLink&&) noexcept = default;
  PendingLink(const PendingLink&) = delete;
  PendingLink& operator=(const PendingLink&) = delete;
  ~PendingLink();

  const LinkRequest& request() const { return request_; }
  const std::string& verifier() const { return verifier_; }  // "" without PKCE
  const Digest& nonce_digest() const { return nonce_digest_; }
  int64_t created_ms() const { return created_ms_; }

 private:
  LinkRequest request_;
  std::string verifier_;
  Digest nonce_digest_;
  int64_t created_ms_;
};

// What the start hands the browser: `state` for the maker's URL, `nonce` for the cookie and the
// PKCE challenge ("" without PKCE). Never logged.
struct StartedLink {
  std::string state;
  std::string nonce;
  std::string challenge;
};

class LinkSessions {
 public:
  LinkSessions(std::chrono::milliseconds ttl, size_t max_pending);

  // Starts a link; nullopt when max_pending links are pending even after the expired ones are
  // dropped. With `pkce` a verifier is made and its S256 challenge returned.
  std::optional<StartedLink> begin(LinkRequest request, bool pkce, int64_t now_ms);
  // Forgets a link whose start failed after begin().
  void cancel(std::string_view state);

  enum class Verdict {
    ok,
    unknown,        // never issued, already used, or issued for another driver
    expired,        // older than state_ttl
    wrong_browser,  // the cookie is missing or is not the one set with this state
  };
  struct Taken {
    Verdict verdict = Verdict::unknown;
    std::optional<PendingLink> link;  // only with ok
  };
  // Looks `state` up for `driver`'s callback and erases it, whatever the verdict.
  Taken take(std::string_view driver, std::string_view state, std::string_view cookie_nonce,
             int64_t now_ms);

  // Drops links older than state_ttl; returns how many.
  size_t sweep(int64_t now_ms);
  size_t pending() const { return by_state_.size(); }
  std::chrono::milliseconds ttl() const { return ttl_; }

 private:
  struct Entry {
    std::string key;  // SHA-256 of the state, as bytes
    PendingLink link;
  };
  static std::string key_of(std::string_view state);
  bool expired(const PendingLink& link, int64_t now_ms) const;

  std::chrono::milliseconds ttl_;
  size_t max_pending_;
  std::list<Entry> order_;  // oldest first: with one ttl, also the order they expire in
  std::unordered_map<std::string, std::list<Entry>::iterator> by_state_;
};

}  // namespace oemlink::link
