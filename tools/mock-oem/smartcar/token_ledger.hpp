// Smartcar's per-user OAuth tokens (oem-apis.md, "Auth A"): access tokens live 2 h, refresh
// tokens 60 days; each refresh returns a new pair, the used refresh token dies a grace period
// (1 min) after its first use while the old access token lives on to its expiry.
// Not thread-safe: the service serialises calls.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
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

  enum class Refused { unknown, expired, used_up };
  // A new pair, or why the refresh token is refused. `vehicle` is set to the token's car.
  bool refresh(std::string_view refresh_token, Clock::time_point now, TokenPair& out, Refused& why,
               std::string& vehicle);
  bool exchange_code(std::string_view code, Clock::time_point now, TokenPair& out);

  enum class AccessCheck { valid, unknown, expired };
  AccessCheck check_access(std::string_view access_token, Clock::time_point now) const;

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
  };
  TokenPair issue(Clock::time_point now, std::string vehicle);

  TokenPolicy policy_;
  std::map<std::string, RefreshToken, std::less<>> refresh_;
  std::map<std::string, Clock::time_point, std::less<>> access_;  // -> expiry
  std::map<std::string, Clock::time_point, std::less<>> codes_;   // -> expiry, single use
  uint64_t refreshes_ = 0, code_exchanges_ = 0, refused_ = 0;
};

}  // namespace oemlink::mock_oem::smartcar
