// The linking component: GET /link/<driver>/start, GET /link/<driver>/callback and
// POST /link/<driver>/mint on the inbound listener, for every driver instance that offers the
// oemlink.link/1 extension. See README.md.
#pragma once

#include "core/host/runtime_component.hpp"
#include "core/link/link_routes.hpp"

namespace oemlink::link {

// The flow's options from the config: listeners.inbound.public_url, linking.*,
// dimo.manufacturer_nodes.
LinkOptions link_options(const config::Config& cfg);

// The factory `oemlink run` registers. Without listeners.inbound it builds nothing.
std::unique_ptr<host::RuntimeComponent> make_link_component(host::RuntimeContext& ctx);

}  // namespace oemlink::link
