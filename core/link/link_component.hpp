// The linking component: GET /link/<driver>/start, GET /link/<driver>/callback and
// POST /link/<driver>/mint on the inbound listener, for every driver instance that offers the
// oemlink.link/1 extension. See README.md.
#pragma once

#include "core/host/runtime_component.hpp"

namespace oemlink::link {

// The factory `oemlink run` registers. Without listeners.inbound it builds nothing.
std::unique_ptr<host::RuntimeComponent> make_link_component(host::RuntimeContext& ctx);

}  // namespace oemlink::link
