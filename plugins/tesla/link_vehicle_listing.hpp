// The cars a freshly issued access token reaches, for linking: the user's region (the same
// RegionResolver, and so the same allow-list of base URLs, as polling), then every page of
// GET /api/1/vehicles (same page rules as TeslaAccount: `pagination.next` must move forward, at
// most kMaxVehicleListPages). No refresh (the token is seconds old) and no cache; one region
// redirect (421) per listing.
#ifndef OEMLINK_TESLA_LINK_VEHICLE_LISTING_HPP
#define OEMLINK_TESLA_LINK_VEHICLE_LISTING_HPP

#include "fleet_api_status.hpp"
#include "region_resolver.hpp"
#include "tesla_settings.hpp"
#include "vehicle_list.hpp"

#include <oemlink/driver.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace oemlink::tesla {

class LinkVehicleListing : public std::enable_shared_from_this<LinkVehicleListing> {
 public:
  using Done = std::function<void(const ApiOutcome& outcome, std::vector<VehicleEntry> vehicles)>;

  // `account`: a label for reasons and logs (the user id), never a token. `done` runs exactly
  // once, possibly before start() returns.
  static void start(Host host, std::shared_ptr<const TeslaSettings> settings,
                    std::string access_token, std::string account, Done done);

  LinkVehicleListing(Host host, std::shared_ptr<const TeslaSettings> settings,
                     std::string access_token, std::string account, Done done);

 private:
  void resolve();
  void request_page(const std::string& base, int64_t page, int64_t per_page);
  void on_page(const std::string& base, int64_t page, const HttpResponse& r);
  void finish(ApiOutcome outcome);

  Host host_;
  std::shared_ptr<const TeslaSettings> settings_;
  std::string access_token_;
  std::string account_;
  Done done_;
  std::shared_ptr<RegionResolver> region_;
  std::vector<VehicleEntry> vehicles_;
  int pages_ = 0;
  bool redirected_ = false;
};

}  // namespace oemlink::tesla

#endif
