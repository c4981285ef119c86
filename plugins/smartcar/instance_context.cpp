#include "instance_context.hpp"

#include "reauth_link.hpp"

namespace oemlink::smartcar {

std::string InstanceContext::reauth_url(std::string_view vehicle_id) const {
  return smartcar::reauth_url(*settings, vehicle_id);
}

}  // namespace oemlink::smartcar
