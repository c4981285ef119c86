#include "instance_context.hpp"

#include "signals_client.hpp"

namespace oemlink::smartcar {

std::string InstanceContext::reauth_url(std::string_view vehicle_id) const {
  return settings->connect_base_url + "/oauth/reauthenticate?response_type=vehicle_id&client_id=" +
         url_encode(settings->client_id) + "&vehicle_id=" + url_encode(vehicle_id);
}

}  // namespace oemlink::smartcar
