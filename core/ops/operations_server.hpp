// The operations listener: its own net::HttpListener (name "operations") on
// listeners.operations, serving GET /metrics (Prometheus text format), GET /healthz and
// GET /readyz (ReadinessCheck over the Runtime's health). See README.md.
//
// Threading: every call on the host loop thread [loop].
#pragma once

#include "core/host/runtime_component.hpp"
#include "core/ops/readiness_check.hpp"

#include <functional>
#include <memory>

namespace oemlink::net {
class HttpListener;
class RouteTable;
}  // namespace oemlink::net

namespace oemlink::ops {

class OperationsServer final : public host::RuntimeComponent {
 public:
  using HealthSource = std::function<host::RuntimeHealth()>;

  // Binds and listens. Throws host::StartupError naming listeners.operations (file:line) when
  // the listener cannot start (port in use). Built by the factory below in the daemon, and
  // directly by tests (port 0, a made-up health source).
  OperationsServer(boost::asio::io_context& io, const config::OperationsListenerConfig& cfg,
                   MetricsRegistry& metrics, HealthSource health);
  ~OperationsServer() override;

  uint16_t port() const;

  // Shutdown has begun: /readyz answers 503 ("shutting down") through the health source, and
  // the listener keeps serving so the orchestrator and the last scrape see it; close() ends it.
  void stop_accepting() override {}
  size_t answering() const override;
  void close() override;

 private:
  void add_routes();

  MetricsRegistry& metrics_;
  HealthSource health_;
  ReadinessCheck readiness_;
  std::unique_ptr<net::RouteTable> routes_;
  std::unique_ptr<net::HttpListener> listener_;
};

// The factory `oemlink run` registers. Without listeners.operations it builds nothing.
std::unique_ptr<host::RuntimeComponent> make_operations_component(host::RuntimeContext& ctx);

}  // namespace oemlink::ops
