// The admin API component: its own HttpListener on listeners.admin over ConnectionControl.
// See README.md.
#pragma once

#include "core/host/runtime_component.hpp"

#include <memory>

namespace oemlink::net {
class HttpListener;
}

namespace oemlink::admin {

class AdminRoutes;

// The listener and its routes. Built by the factory below in the daemon, and directly by tests
// (a fake ConnectionControl, port 0).
class AdminServer final : public host::RuntimeComponent {
 public:
  // Binds and listens. Throws host::StartupError naming the config (file:line) when the
  // listener cannot start (port in use, TLS file unreadable).
  AdminServer(boost::asio::io_context& io, const config::AdminListenerConfig& cfg,
              host::ConnectionControl& control, MetricsRegistry& metrics);
  ~AdminServer() override;

  uint16_t port() const;

  void stop_accepting() override;
  size_t answering() const override;
  void close() override;

 private:
  std::unique_ptr<net::RouteTable> routes_;
  std::unique_ptr<AdminRoutes> admin_;
  std::unique_ptr<net::HttpListener> listener_;
};

// The factory `oemlink run` registers. Without listeners.admin it builds nothing.
std::unique_ptr<host::RuntimeComponent> make_admin_component(host::RuntimeContext& ctx);

}  // namespace oemlink::admin
