// Smartcar's per-user OAuth tokens (oem-apis.md, "Auth A"): access tokens live 2 h, refresh
// tokens 60 days; each refresh returns a new pair, the used refresh token dies a grace period
// (1 min) after its first use while the old access token lives on to its expiry.
// Tokens from a Connect consent carry its grant (the user and the cars picked); a refresh keeps
// the grant. Seeded tokens and codes have an empty grant, which reaches every vehicle.
// Not thread-safe: the service serialises calls.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace oemlink::mock_oem::smartcar {

struct TokenPolicy {
  std::chrono::seconds access_ttl{7200};
  std::chrono::seconds refresh_ttl{60 * 24 * 3600};
  std::chrono::milliseconds refresh_grace{60'000};
  std::chrono::seconds auth_code_ttl{600};
};

struct Grant {
  std::string user;                // empty: seeded, reaches every vehicle
  std::set<std::string> vehicles;  // the cars the owner picked
  std::string scope;
  bool reaches(const std::string& vehicle) const {
    return user.empty() || vehicles.count(vehicle) > 0;
  }
};
using GrantRef = std::shared_ptr<const Grant>;

struct TokenPair {
  std::string access_token;
  std::string refresh_token;
  int64_t expires_in_s = 0;
};

class TokenLedger {
 public:
  using Clock = std::chrono::steady_clock;
  explicit TokenLedger(TokenPolicy policy) : policy_(policy) {}

  // Seeds (operator-provided first tokens); `vehicle` names the car a re-auth link points at.
  void accept_refresh_token(std::string token, std::string vehicle, Clock::time_point now);
  void accept_access_token(std::string token, Clock::time_point now);
  void accept_auth_code(std::string code, Clock::time_point now);
  // A code for a Connect consent; single use, auth_code_ttl, bound to `redirect_uri`.
  std::string issue_auth_code(Grant grant, std::string redirect_uri, Clock::time_point now);

  enum class Refused { unknown, expired, used_up };
  // A new pair, or why the refresh token is refused. `vehicle` is set to the token's car.
  bool refresh(std::string_view refresh_token, Clock::time_point now, TokenPair& out, Refused& why,
               std::string& vehicle);
  enum class CodeRefused { unknown, expired, redirect_mismatch };
  // A seeded code checks no redirect_uri; a consent's code needs the one it was issued for. A
  // refused code is spent too (single use, as OAuth wants for a code presented wrongly).
  bool exchange_code(std::string_view code, std::string_view redirect_uri, Clock::time_point now,
                     TokenPair& out, CodeRefused& why);

  enum class AccessCheck { valid, unknown, expired };
  AccessCheck check_access(std::string_view access_token, Clock::time_point now) const;
  // The grant of a known access token (empty grant for seeded ones).
  GrantRef grant_of(std::string_view access_token) const;

  // Every access and refresh token it has seeded or issued (a test checks none leaked).
  std::vector<std::string> access_tokens() const;
  std::vector<std::string> refresh_tokens() const;

  uint64_t refreshes() const { return refreshes_; }
  uint64_t code_exchanges() const { return code_exchanges_; }
  uint64_t refused() const { return refused_; }

 private:
  struct RefreshToken {
    Clock::time_point expires;
    std::optional<Clock::time_point> first_used;
    std::string vehicle;
    GrantRef grant;
  };
  struct AccessToken {
    Clock::time_point expires;
    GrantRef grant;
  };
  struct Code {
    Clock::time_point expires;
    std::string redirect_uri;  // empty: seeded, not checked
    GrantRef grant;
  };
  TokenPair issue(Clock::time_point now, std::string vehicle, GrantRef grant);

  TokenPolicy policy_;
  GrantRef seeded_ = std::make_shared<const Grant>();
  std::map<std::string, RefreshToken, std::less<>> refresh_;
  std::map<std::string, AccessToken, std::less<>> access_;
  std::map<std::string, Code, std::less<>> codes_;  // single use
  uint64_t refreshes_ = 0, code_exchanges_ = 0, refused_ = 0;
};

}  // namespace oemlink::mock_oem::smartcar
