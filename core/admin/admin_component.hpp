// The admin API component: its own HttpListener on listeners.admin over ConnectionControl.
// See README.md.
#pragma once

#include "core/host/runtime_component.hpp"

namespace oemlink::admin {

// The factory `oemlink run` registers. Without listeners.admin it builds nothing.
std::unique_ptr<host::RuntimeComponent> make_admin_component(host::RuntimeContext& ctx);

}  // namespace oemlink::admin
