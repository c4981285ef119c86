// What one Smartcar driver instance shares among its connections, its webhook and its linker:
// the host, the settings, the application's request budget, the webhook dedupe, the vehicle
// registry and the token chains.
// Held by shared_ptr so a late HTTP callback never outlives what it touches.
#ifndef OEMLINK_SMARTCAR_INSTANCE_CONTEXT_HPP
#define OEMLINK_SMARTCAR_INSTANCE_CONTEXT_HPP

#include "chain_directory.hpp"
#include "event_id_dedupe.hpp"
#include "request_budget.hpp"
#include "smartcar_settings.hpp"
#include "vehicle_registry.hpp"

#include <oemlink/driver.hpp>

#include <memory>
#include <string>
#include <string_view>

namespace oemlink::smartcar {

struct InstanceContext {
  InstanceContext(Host h, SmartcarSettings s)
      : host(h),
        settings(std::make_shared<const SmartcarSettings>(std::move(s))),
        budget(static_cast<double>(settings->request_budget_capacity),
               settings->request_budget_refill_per_minute, h.now_ms()),
        dedupe(static_cast<size_t>(settings->webhook_dedupe_size)),
        chains(h, settings) {}

  // Smartcar Connect's re-auth page for a vehicle, for an error that carries no URL of its own.
  std::string reauth_url(std::string_view vehicle_id) const;

  Host host;
  std::shared_ptr<const SmartcarSettings> settings;
  RequestBudget budget;
  EventIdDedupe dedupe;
  VehicleRegistry registry;
  ChainDirectory chains;
};

}  // namespace oemlink::smartcar

#endif  // OEMLINK_SMARTCAR_INSTANCE_CONTEXT_HPP
