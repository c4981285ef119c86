// Smartcar Connect's consent, as a test drives it like a browser: GET /oauth/authorize checks the
// application's request and answers an HTML page listing each user's vehicles (of the requested
// mode) with checkboxes (radio buttons with single_select=true); POST /oauth/authorize/decision
// (decision=approve|deny, request, user, vehicle repeated) redirects to the application's
// redirect_uri with a code for exactly the picked cars, or with error=access_denied.
// Not thread-safe: the service serialises calls.
#pragma once

#include "tools/mock-oem/common/mock_http_server.hpp"
#include "tools/mock-oem/smartcar/fleet.hpp"
#include "tools/mock-oem/smartcar/token_ledger.hpp"

#include <chrono>
#include <map>
#include <string>
#include <string_view>

namespace oemlink::mock_oem::smartcar {

class ConnectConsent {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr size_t kMaxPending = 10000;
  static constexpr std::chrono::minutes kRequestTtl{30};

  explicit ConnectConsent(std::string client_id) : client_id_(std::move(client_id)) {}

  Reply authorize(std::string_view query, Fleet& fleet, Clock::time_point now);
  Reply decide(std::string_view form, Fleet& fleet, TokenLedger& tokens, Clock::time_point now);

  uint64_t approved() const { return approved_; }
  uint64_t denied() const { return denied_; }

 private:
  struct Pending {
    std::string redirect_uri, state, scope, mode;
    bool single_select = false;
    Clock::time_point expires;
  };

  std::string client_id_;
  std::map<std::string, Pending, std::less<>> pending_;  // by request id
  uint64_t approved_ = 0, denied_ = 0;
};

}  // namespace oemlink::mock_oem::smartcar
