#include "core/link/link_component.hpp"

namespace oemlink::link {

std::unique_ptr<host::RuntimeComponent> make_link_component(host::RuntimeContext& ctx) {
  if (!ctx.inbound_routes) return nullptr;
  return nullptr;  // the routes land with the linking flow
}

}  // namespace oemlink::link
