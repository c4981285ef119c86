// Tesla's OAuth token service as the Fleet API sees it (shared/spec/oem-apis.md, Auth):
// refresh tokens are single use and rotate on every refresh; reusing one answers 401
// login_required; each new pair voids the account's previous chain and the access tokens issued
// with it. Partner tokens come from client_credentials. Access tokens are JWT-shaped (a `scp`
// claim, `exp`, `ou_code`) but the mock checks them by lookup, never by parsing.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace oemlink::mock_oem::tesla {

struct TokenAuthorityConfig {
  std::string client_id;
  std::string client_secret;
  std::chrono::seconds access_lifetime{28800};
  std::chrono::seconds refresh_lifetime{90 * 86400};
  std::vector<std::string> partner_scopes;
  std::chrono::seconds auth_code_lifetime{600};
};

// What an owner approved on the consent page; becomes a one-time authorization code.
struct AuthCodeGrant {
  std::string account;
  std::string redirect_uri;    // the token request must send the same
  std::string code_challenge;  // S256; empty: the authorize request gave none
  std::vector<std::string> scopes;
};

// One authorization code, for GET /mock/tokens.
struct IssuedCode {
  std::string code;
  std::string account;
  std::string redirect_uri;  // empty for a seeded code (any redirect_uri accepted)
  bool pkce = false;
  bool seeded = false;
  int64_t issued_at_ms = 0;
  int64_t expires_at_ms = 0;
  std::string outcome;  // "" while unused, else what its one token request got: issued |
                        // expired | redirect_uri_mismatch | pkce_failed
};

struct AccountProfile {
  std::string region = "na";
  std::vector<std::string> scopes;
};

struct TokenAnswer {
  unsigned status = 200;
  std::string body;     // JSON
  std::string account;  // who was served, when known (for logs and stats)
};

enum class BearerState { kValid, kExpired, kVoided, kUnknown };

// One token the authority handed out (or was seeded with), for GET /mock/tokens: tests check
// that a client never used an access token it had not stored yet, and that no token leaked.
struct IssuedToken {
  uint64_t seq = 0;           // order of issue over the whole mock, from 1
  std::string kind;           // seeded | refresh | auth_code | partner
  std::string account;        // empty for partner tokens
  uint64_t generation = 0;    // the account's chain generation the pair belongs to
  std::string refresh_token;  // empty for partner tokens
  std::string access_token;   // empty for seeded refresh tokens
  int64_t issued_at_ms = 0;
  uint64_t refresh_uses = 0;  // token requests that presented refresh_token (any answer)
  uint64_t access_uses = 0;   // API requests that presented access_token (any answer)
};

struct Bearer {
  BearerState state = BearerState::kUnknown;
  bool partner = false;
  std::string account;
  std::vector<std::string> scopes;
  bool has_scope(std::string_view scope) const;
};

class TokenAuthority {
 public:
  using Clock = std::chrono::system_clock;

  TokenAuthority(TokenAuthorityConfig config, std::map<std::string, AccountProfile> accounts);

  // Starts (or adds to) an account's chain with a token the operator seeded.
  void accept_refresh_token(const std::string& token, const std::string& account);
  void accept_auth_code(const std::string& code, const std::string& account);
  // A fresh random code for an approved consent, valid auth_code_lifetime, single use.
  std::string issue_auth_code(AuthCodeGrant grant);
  // Consent revoked / password changed: every refresh and access token of the account dies.
  void revoke(const std::string& account);
  // The account's data moves to another region (its tokens stay valid): requests at the old
  // region's host now get 421.
  void set_region(const std::string& account, const std::string& region);

  // POST /oauth2/v3/token with its form fields decoded. `audience_is_region`: whether the form's
  // audience names a Fleet API region base URL (the caller knows the mock's own base URLs).
  TokenAnswer token_endpoint(const std::map<std::string, std::string>& form,
                             bool audience_is_region = true);
  Bearer check_bearer(std::string_view token) const;
  std::optional<AccountProfile> account(const std::string& name) const;
  // Every token issued or seeded so far, in order.
  std::vector<IssuedToken> issued() const;
  // Every authorization code issued or seeded so far, in order.
  std::vector<IssuedCode> codes() const;

 private:
  struct Account {
    AccountProfile profile;
    uint64_t generation = 0;
    std::set<std::string> live_refresh;
    // The scopes of the owner's last consent; a refresh keeps them. Unset: the profile's.
    std::optional<std::vector<std::string>> granted_scopes;
  };
  struct CodeRecord {
    AuthCodeGrant grant;
    Clock::time_point expires;
    size_t index = 0;  // into codes_
  };
  struct RefreshRecord {
    std::string account;
    Clock::time_point issued;
  };
  struct AccessRecord {
    std::string account;
    uint64_t generation = 0;
    Clock::time_point expires;
    std::vector<std::string> scopes;
    bool partner = false;
  };

  Account& account_locked(const std::string& name);
  // The new pair's answer body; without a refresh token when `with_refresh` is false (no
  // offline_access consented).
  std::string issue_pair_locked(const std::string& account_name, const std::string& kind,
                                bool with_refresh = true);
  TokenAnswer redeem_code_locked(const std::map<std::string, std::string>& form);
  std::string new_access_token_locked(const std::string& subject, const std::string& region,
                                      const std::vector<std::string>& scopes, bool partner,
                                      uint64_t generation, const std::string& account);

  TokenAuthorityConfig config_;
  mutable std::mutex mu_;
  std::map<std::string, Account> accounts_;
  std::map<std::string, RefreshRecord> refresh_;  // every refresh token ever seen
  std::map<std::string, CodeRecord> auth_codes_;  // unused codes
  std::vector<IssuedCode> codes_;
  std::map<std::string, AccessRecord, std::less<>> access_;
  // What GET /mock/tokens lists, with use counts (check_bearer is const, hence mutable); the
  // maps index into it.
  mutable std::vector<IssuedToken> issued_;
  std::map<std::string, size_t> issued_by_refresh_;
  std::map<std::string, size_t, std::less<>> issued_by_access_;
};

}  // namespace oemlink::mock_oem::tesla
