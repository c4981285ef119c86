// DriverLinker: the host's side of a driver's oemlink.link/1 extension (driver.h). Turns the C
// calls into C++ values and copies what the driver hands over before its call returns: secrets
// into host::SecretPairs (wiped when dropped), vehicles into LinkedVehicle.
//
// Threading: calls from the host loop; the completions run on whatever thread the driver calls
// them from, possibly before the call returns; hop to the loop yourself.
#pragma once

#include "core/host/connection_control.hpp"

#include <oemlink/driver.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace oemlink::host {
struct DriverInstance;
}

namespace oemlink::link {

struct LinkedVehicle {
  std::string vehicle_id, vin, display_name, identifiers_json, make, model;
  uint32_t year = 0;
};

struct ExchangeOutcome {
  oemlink_status status = OEMLINK_ERROR;
  host::SecretPairs secrets;  // with OEMLINK_OK
  std::string message;        // otherwise: the driver's reason, for the owner's eyes
};

struct VehiclesOutcome {
  oemlink_status status = OEMLINK_ERROR;
  std::vector<LinkedVehicle> vehicles;
  std::string message;
};

class DriverLinker {
 public:
  // The instance's link table, or null when it cannot link: not created, built for ABI < 1.2,
  // or its driver returns no oemlink.link/1 (or one too short to hold the three calls).
  static const oemlink_link_extension* extension_of(const host::DriverInstance& d);

  DriverLinker(host::DriverInstance& d, const oemlink_link_extension& ext) : d_(d), ext_(ext) {}

  bool pkce() const { return (ext_.flags & OEMLINK_LINK_PKCE_S256) != 0; }

  struct Url {
    bool ok = false;
    std::string text;  // the URL, or why the driver cannot build one
  };
  Url authorize_url(std::string_view state, std::string_view redirect_uri,
                    std::string_view code_challenge, std::string_view vehicle_id) const;

  // False when the driver did not start the exchange (then `done` is never called).
  bool exchange_code(std::string_view code, std::string_view query, std::string_view redirect_uri,
                     std::string_view code_verifier, std::function<void(ExchangeOutcome)> done);
  bool list_vehicles(const host::SecretPairs& secrets, std::function<void(VehiclesOutcome)> done);

 private:
  host::DriverInstance& d_;
  const oemlink_link_extension& ext_;
};

}  // namespace oemlink::link
