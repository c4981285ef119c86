// Tesla's browser consent (auth.tesla.com/oauth2/v3/authorize) as a test drives it like a
// browser: GET the authorize URL (checked as Tesla checks it) → an HTML page listing each
// account's cars with an approve form (choose the account) and a deny form → POST the decision →
// 302 to the client's redirect_uri with a one-time code (or error=access_denied) and the state.
#pragma once

#include "tools/mock-oem/common/mock_http_server.hpp"
#include "tools/mock-oem/tesla/fleet.hpp"
#include "tools/mock-oem/tesla/token_authority.hpp"

#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace oemlink::mock_oem::tesla {

class Consent {
 public:
  using Clock = std::chrono::steady_clock;

  // `accounts`: who can log in, in the order the page offers them (the first is the default).
  Consent(std::string client_id, std::vector<std::string> accounts, TokenAuthority& tokens,
          const Fleet& fleet);

  // GET /oauth2/v3/authorize with its query decoded.
  Reply authorize(const std::map<std::string, std::string>& query);
  // POST /oauth2/v3/authorize/decision with its form decoded.
  Reply decide(const std::map<std::string, std::string>& form);

  // A pending request this old is gone (the owner walked away).
  static constexpr std::chrono::minutes kRequestLifetime{30};
  static constexpr size_t kMaxPending = 10'000;

 private:
  struct Pending {
    std::string redirect_uri, state, code_challenge;
    std::vector<std::string> scopes;
    Clock::time_point created;
  };
  std::string page(const std::string& request_id, const Pending& p) const;

  std::string client_id_;
  std::vector<std::string> accounts_;
  TokenAuthority& tokens_;
  const Fleet& fleet_;
  std::mutex mu_;
  std::map<std::string, Pending> pending_;  // by request id
};

}  // namespace oemlink::mock_oem::tesla
