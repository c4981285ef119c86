// The HTTP face of the mock Tesla: the Fleet API routes, the consent pages and token endpoint,
// the control API (/mock/...) and GET /stats, on one MockHttpServer handler. Region hosts are path
// prefixes
// (/na, /eu, /cn; none = na) so one process can answer 421 for a user in another region.
#pragma once

#include "tools/mock-oem/common/mock_http_server.hpp"
#include "tools/mock-oem/tesla/billing.hpp"
#include "tools/mock-oem/tesla/consent.hpp"
#include "tools/mock-oem/tesla/fleet.hpp"
#include "tools/mock-oem/tesla/injection.hpp"
#include "tools/mock-oem/tesla/tesla_options.hpp"
#include "tools/mock-oem/tesla/token_authority.hpp"

#include <mutex>
#include <random>
#include <set>
#include <string>

namespace oemlink::mock_oem::tesla {

class FleetApi {
 public:
  FleetApi(const TeslaOptions& options, TokenAuthority& tokens, Fleet& fleet,
           InjectionTable& injections, Billing& billing);

  Reply handle(const Request& request);

 private:
  struct Call;  // one request being answered (fleet_api.cpp)

  Reply answer_api(Call& call);
  Reply answer_token(Call& call);
  Reply answer_consent(Call& call);
  // Whether a token request's `audience` is one of this mock's region base URLs (with or without
  // the region prefix) or a real Fleet API region base URL.
  bool audience_is_region(const Call& call, const std::string& audience) const;
  Reply answer_control(Call& call);
  Reply answer_vehicles(Call& call);
  Reply answer_vehicle(Call& call);
  Reply answer_vehicle_data(Call& call);
  Reply answer_wake_up(Call& call);
  Reply answer_fleet_status(Call& call);
  Reply answer_config_jws(Call& call);
  Reply answer_config_get(Call& call);
  Reply answer_config_delete(Call& call);
  Reply answer_telemetry_errors(Call& call);
  Reply answer_partner_register(Call& call);
  Reply answer_region(Call& call);
  Reply injected(Call& call, const InjectionDecision& d);

  std::string base_url(const Call& call, const std::string& region) const;
  int latency_ms();

  const TeslaOptions& options_;
  TokenAuthority& tokens_;
  Fleet& fleet_;
  InjectionTable& injections_;
  Billing& billing_;
  Consent consent_;
  std::mutex mu_;  // guards rng_ and registered_regions_
  std::mt19937 rng_{20250201};
  std::set<std::string> registered_regions_;
};

}  // namespace oemlink::mock_oem::tesla
