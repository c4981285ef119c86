#include "core/link/link_component.hpp"

#include "core/link/link_routes.hpp"

#include <spdlog/spdlog.h>

namespace oemlink::link {
namespace {

class LinkComponent final : public host::RuntimeComponent {
 public:
  LinkComponent(std::unique_ptr<LinkRoutes> routes, host::DriverSet& drivers)
      : routes_(std::move(routes)), drivers_(drivers) {}
  void stop_accepting() override { routes_->stop_accepting(); }
  size_t answering() const override { return routes_->answering(); }
  void close() override { routes_->close(); }
  void drivers_changed() override { routes_->refresh_drivers(drivers_); }

 private:
  std::unique_ptr<LinkRoutes> routes_;
  host::DriverSet& drivers_;
};

}  // namespace

LinkOptions link_options(const config::Config& cfg) {
  LinkOptions o;
  if (cfg.listeners.inbound) o.public_url = cfg.listeners.inbound->public_url;
  while (o.public_url.ends_with('/')) o.public_url.pop_back();
  o.state_ttl = cfg.linking.state_ttl;
  o.max_pending = cfg.linking.max_pending;
  o.grant_ttl = cfg.linking.grant_ttl;
  o.manufacturer_nodes = {cfg.dimo.manufacturer_nodes.begin(), cfg.dimo.manufacturer_nodes.end()};
  return o;
}

std::unique_ptr<host::RuntimeComponent> make_link_component(host::RuntimeContext& ctx) {
  if (!ctx.inbound_routes || !ctx.cfg.listeners.inbound) return nullptr;
  auto routes = std::make_unique<LinkRoutes>(ctx.io, link_options(ctx.cfg), ctx.metrics, ctx.clock,
                                             ctx.drivers, ctx.connections,
                                             make_mint_source(ctx.cfg.dimo, ctx.vault));
  routes->add_to(*ctx.inbound_routes);
  std::string names;
  for (const std::string& n : routes->linkable()) names += (names.empty() ? "" : ", ") + n;
  spdlog::info("link: /link/<driver>/start serves {}",
               names.empty() ? std::string("no driver (none offers oemlink.link/1)") : names);
  return std::make_unique<LinkComponent>(std::move(routes), ctx.drivers);
}

}  // namespace oemlink::link
