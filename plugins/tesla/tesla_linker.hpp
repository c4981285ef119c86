// TeslaLinker: the oemlink.link/1 side of linking a car to Tesla (the host runs the browser
// flow). authorize_url builds Tesla's consent URL (PKCE S256); exchange_code trades the code for
// the first token pair and hands it over as the four secrets every connection of the driver
// stores (what TokenChain reads and writes); list_vehicles lists the cars the new access token
// reaches, each with identifiers {"tesla_id", "account"} where the account is the token's user
// (JWT `sub`), so the cars of one consent, and of later consents of the same user, share one
// TokenChain. Messages are shown to the owner: they carry Tesla's error code at most, never a
// code or a token.
#ifndef OEMLINK_TESLA_TESLA_LINKER_HPP
#define OEMLINK_TESLA_TESLA_LINKER_HPP

#include "tesla_settings.hpp"

#include <oemlink/driver.hpp>

#include <memory>
#include <string>

namespace oemlink::tesla {

class TeslaLinker final : public Linker {
 public:
  TeslaLinker(Host host, std::shared_ptr<const TeslaSettings> settings);

  uint32_t link_flags() const override { return OEMLINK_LINK_PKCE_S256; }
  // Throws std::invalid_argument when the instance cannot link (no client_id/client_secret) or
  // the host gave no state or redirect URI.
  std::string authorize_url(const LinkAuthorize& request) override;
  void exchange_code(const LinkCallback& callback,
                     std::function<void(LinkExchangeResult)> done) override;
  void list_vehicles(const LinkSecrets& secrets,
                     std::function<void(LinkVehiclesResult)> done) override;

 private:
  void require_client_credentials() const;

  Host host_;
  std::shared_ptr<const TeslaSettings> settings_;
};

// The account (TokenChain grouping key) of a linked car: the access token's `sub`, else, for a
// token that is not a JWT, "consent:" and 16 hex digits of SHA-256(refresh token): the cars of
// one consent still share a chain. Empty when neither is available.
std::string link_account_name(const std::string& access_token, const std::string& refresh_token);

}  // namespace oemlink::tesla

#endif
