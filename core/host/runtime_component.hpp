// RuntimeComponent: a part of the daemon built on top of the host (the linking flow, the admin
// API), in the manner of Envoy's and userver's components: the Runtime builds each from a factory
// once the drivers and connections are up, hands it what it may use (RuntimeContext), and tells
// it when to stop taking work and when to let go. The host never includes a component, so the
// parts after `host` in the layering (core/link, core/admin) plug in from the executable.
//
// Threading: every call on the host loop thread.
#pragma once

#include "core/common/metrics.hpp"
#include "core/config/config.hpp"
#include "core/host/host_clock.hpp"
#include "core/host/runtime_health.hpp"

#include <boost/asio/io_context.hpp>

#include <cstddef>
#include <functional>
#include <memory>

namespace oemlink::net {
class RouteTable;
class CurlMultiClient;
}  // namespace oemlink::net
namespace oemlink::vault {
class KeyVault;
}

namespace oemlink::host {

class ConnectionControl;
class DriverSet;

struct RuntimeContext {
  boost::asio::io_context& io;
  const config::Config& cfg;  // data_dir, dimo, listeners, linking; connections are not kept
  MetricsRegistry& metrics;
  const HostClock& clock;
  DriverSet& drivers;
  ConnectionControl& connections;
  vault::KeyVault& vault;  // address(child) and sign_hash(child, hash), nothing more
  // The inbound listener's routes (listeners.inbound); null without one. A route added here
  // serves once the loop runs.
  net::RouteTable* inbound_routes = nullptr;
  // [loop] A snapshot of what readiness is decided from (the operations listener's /readyz).
  std::function<RuntimeHealth()> health;
};

class RuntimeComponent {
 public:
  virtual ~RuntimeComponent() = default;
  // Shutdown has begun: take no new work (close listeners, answer waiting requests 503).
  virtual void stop_accepting() {}
  // Requests still being answered; the runtime drains while this is above 0 (bounded by
  // schedule.shutdown_timeout).
  virtual size_t answering() const { return 0; }
  // A reload added, removed or replaced driver instances: look them up again in
  // RuntimeContext::drivers. An instance it replaced is retired (DriverInstance::retired) and
  // destroyed once idle and no DriverLease holds it.
  virtual void drivers_changed() {}
  // Last call before the drivers are closed: drop every driver callback still pending (their
  // late completions must find nothing) and close every socket.
  virtual void close() {}
};

// Builds a component; throws StartupError (driver_set.hpp) naming the config at fault.
using ComponentFactory = std::function<std::unique_ptr<RuntimeComponent>(RuntimeContext&)>;

}  // namespace oemlink::host
