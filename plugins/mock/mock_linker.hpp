// The mock's oemlink.link/1 Linker: a test double of a maker's OAuth consent, so the host's
// linking flow is tested without an automaker. It plays both sides the way a real maker does:
// it remembers each consent request (state → PKCE challenge and redirect URI) from
// authorize_url and checks the verifier and redirect URI at the exchange. Codes are chosen by the
// test, standing in for the owner's choice at the consent page:
//   "ok-<n>"        n cars (1–50): vehicle ids "mock-<n>-<k>", VINs derived from the code
//   "ok-<n>-<tag>"  the same for another account: vehicle ids "mock-<tag>-<n>-<k>"
//   "bad"           refused: "authorization code expired"
// The exchange hands over {"access_token": "mock-at-<random>"}; list_vehicles lists the code's
// cars for that token.
#ifndef OEMLINK_MOCK_LINKER_HPP
#define OEMLINK_MOCK_LINKER_HPP

#include <oemlink/driver.hpp>

#include <mutex>
#include <string>
#include <unordered_map>

namespace oemlink::mock {

class MockLinker final : public Linker {
 public:
  explicit MockLinker(std::string authorize_base) : authorize_base_(std::move(authorize_base)) {}

  uint32_t link_flags() const override { return OEMLINK_LINK_PKCE_S256; }
  std::string authorize_url(const LinkAuthorize& request) override;
  void exchange_code(const LinkCallback& callback,
                     std::function<void(LinkExchangeResult)> done) override;
  void list_vehicles(const LinkSecrets& secrets,
                     std::function<void(LinkVehiclesResult)> done) override;

 private:
  struct Consent {
    std::string challenge, redirect_uri;
  };
  std::string authorize_base_;
  std::mutex mu_;
  std::unordered_map<std::string, Consent> consents_;   // by state
  std::unordered_map<std::string, std::string> codes_;  // access token → the code it came from
};

}  // namespace oemlink::mock

#endif  // OEMLINK_MOCK_LINKER_HPP
