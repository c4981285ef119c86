// Linking cars through Smartcar Connect (the oemlink.link/1 extension; the host runs the browser
// flow and creates the connections, README.md "Linking"):
//  - authorize_url: <connect>/oauth/authorize with response_type=code, client_id, redirect_uri,
//    scope, state, mode and approval_prompt=auto; re-authenticating one car adds
//    approval_prompt=force&single_select=true. No PKCE: Smartcar Connect does not document it,
//    so link_flags() is 0 and no challenge is sent.
//  - exchange_code: ONE request (POST <auth>/oauth/token, authorization_code) -> the secrets every
//    connection of this consent stores: access_token, refresh_token, access_expires_at_ms,
//    issued_at_ms, a new random grant_id, and user_id when the redirect carried Smartcar's
//    `user_id`. Nothing else happens after the single-use code is spent, so a later failure
//    never loses the tokens.
//  - list_vehicles: GET <v2>/user (only when user_id is not among the secrets), the pages of
//    GET <v2>/vehicles, then per car GET <v2>/vehicles/{id} and /vin. Each of these takes a token
//    of the instance's request bucket, as polls do (the token endpoint is not in that bucket).
#ifndef OEMLINK_SMARTCAR_LINKER_HPP
#define OEMLINK_SMARTCAR_LINKER_HPP

#include "instance_context.hpp"

#include <oemlink/driver.hpp>

#include <memory>
#include <string>
#include <string_view>

namespace oemlink::smartcar {

class SmartcarLinker : public Linker {
 public:
  explicit SmartcarLinker(std::shared_ptr<InstanceContext> ctx) : ctx_(std::move(ctx)) {}

  uint32_t link_flags() const override { return 0; }
  std::string authorize_url(const LinkAuthorize& request) override;
  void exchange_code(const LinkCallback& callback,
                     std::function<void(LinkExchangeResult)> done) override;
  void list_vehicles(const LinkSecrets& secrets,
                     std::function<void(LinkVehiclesResult)> done) override;

 private:
  std::shared_ptr<InstanceContext> ctx_;
};

// The value of `key` in a URL query string ("a=1&b=x%20y"), percent- and '+'-decoded; "" when
// absent.
std::string query_param(std::string_view query, std::string_view key);

}  // namespace oemlink::smartcar

#endif  // OEMLINK_SMARTCAR_LINKER_HPP
