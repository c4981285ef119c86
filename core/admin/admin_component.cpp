#include "core/admin/admin_component.hpp"

namespace oemlink::admin {

std::unique_ptr<host::RuntimeComponent> make_admin_component(host::RuntimeContext& ctx) {
  if (!ctx.cfg.listeners.admin) return nullptr;
  return nullptr;  // the API lands with the admin listener
}

}  // namespace oemlink::admin
