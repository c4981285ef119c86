#include "reauth_link.hpp"

#include "signals_client.hpp"

namespace oemlink::smartcar {

std::string reauth_url(const SmartcarSettings& settings, std::string_view vehicle_id) {
  return settings.connect_base_url + "/oauth/reauthenticate?response_type=vehicle_id&client_id=" +
         url_encode(settings.client_id) + "&vehicle_id=" + url_encode(vehicle_id);
}

std::string reauth_reason(const SmartcarSettings& settings, std::string_view vehicle_id,
                          std::string_view given_url, std::string_view why) {
  const std::string link =
      given_url.empty() ? reauth_url(settings, vehicle_id) : std::string(given_url);
  return "smartcar: the owner must re-authenticate the vehicle at " + link + " (" +
         std::string(why) + ")";
}

}  // namespace oemlink::smartcar
