// PartnerToken: the application's own token (OAuth client_credentials with an audience), one
// per driver instance, held in memory only (it is re-obtainable at any time, unlike a user's
// refresh token) and refreshed when it expires. Needed for partner endpoints such as
// /api/1/partner_accounts/fleet_telemetry_errors.
#ifndef OEMLINK_TESLA_PARTNER_TOKEN_HPP
#define OEMLINK_TESLA_PARTNER_TOKEN_HPP

#include "tesla_settings.hpp"

#include <oemlink/driver.hpp>

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace oemlink::tesla {

class PartnerToken : public std::enable_shared_from_this<PartnerToken> {
 public:
  // ok=false: `token` is empty and `reason` says why.
  using Callback =
      std::function<void(bool ok, const std::string& token, const std::string& reason)>;
  PartnerToken(Host host, std::shared_ptr<const TeslaSettings> settings);
  void get(Callback cb);

 private:
  void on_answer(const HttpResponse& r);
  Host host_;
  std::shared_ptr<const TeslaSettings> settings_;
  std::mutex mu_;
  std::string token_;
  int64_t expires_at_ms_ = 0;
  int64_t next_attempt_ms_ = 0;
  bool asking_ = false;
  std::vector<Callback> waiters_;
};

}  // namespace oemlink::tesla

#endif
