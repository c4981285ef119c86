// One car's OAuth tokens: read from the host's secret store when first needed, refreshed before
// they expire (POST <auth>/oauth/token, grant_type=refresh_token, HTTP Basic client auth), and
// the rotated pair stored with ONE secret_put BEFORE it is used: Smartcar kills the used refresh
// token a minute after the refresh, so a pair that is not on disk must never be the one we rely
// on. When that put fails the new pair waits in memory, unused, and storing it is retried first
// thing on the next poll.
//
// Secret keys (per connection): access_token, refresh_token, access_expires_at_ms (Unix ms).
#ifndef OEMLINK_SMARTCAR_TOKEN_REFRESHER_HPP
#define OEMLINK_SMARTCAR_TOKEN_REFRESHER_HPP

#include "smartcar_settings.hpp"

#include <oemlink/driver.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace oemlink::smartcar {

struct TokenResult {
  enum class Outcome { ready, retry, reauth, rate_limited } outcome = Outcome::ready;
  std::string reason;      // for the log / report_state; never contains a token
  std::string reauth_url;  // with reauth, when Smartcar gave one
  int64_t until_ms = 0;    // with rate_limited
};

class TokenRefresher : public std::enable_shared_from_this<TokenRefresher> {
 public:
  TokenRefresher(Host host, ConnHandle conn, std::shared_ptr<const SmartcarSettings> settings);

  // Makes sure a stored, unexpired access token is at hand (refreshing when it expires within
  // the margin, or always with `force`); `done` runs exactly once, possibly before this returns.
  void ensure(bool force, std::function<void(const TokenResult&)> done);
  const std::string& access_token() const { return tokens_.access; }

  // Counters for tests and metrics.
  uint64_t refreshes() const { return refreshes_; }

 private:
  struct Tokens {
    std::string access;
    std::string refresh;
    int64_t access_expires_at_ms = 0;
  };

  bool load();
  bool persist(const Tokens& t);
  void refresh(std::function<void(const TokenResult&)> done);
  void on_refresh_answer(const HttpResponse& r,
                         const std::function<void(const TokenResult&)>& done);

  Host host_;
  ConnHandle conn_;
  std::shared_ptr<const SmartcarSettings> settings_;
  bool loaded_ = false;
  Tokens tokens_;
  std::optional<Tokens> pending_;  // rotated but not yet stored: never used until it is
  uint64_t refreshes_ = 0;
};

}  // namespace oemlink::smartcar

#endif  // OEMLINK_SMARTCAR_TOKEN_REFRESHER_HPP
