#include "core/admin/admin_component.hpp"

#include "core/admin/admin_routes.hpp"
#include "core/host/driver_set.hpp"
#include "core/net/http_listener.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/ip/address.hpp>

namespace oemlink::admin {
namespace {

// An add request of kMaxAddPerRequest connections with identifiers and secrets fits.
constexpr size_t kMaxBody = 8 << 20;

bool loopback(const std::string& address) {
  boost::system::error_code ec;
  auto a = boost::asio::ip::make_address(address, ec);
  return !ec && a.is_loopback();
}

}  // namespace

AdminServer::AdminServer(boost::asio::io_context& io, const config::AdminListenerConfig& cfg,
                         host::ConnectionControl& control, MetricsRegistry& metrics)
    : routes_(std::make_unique<net::RouteTable>()) {
  AdminAuth auth{BearerToken(cfg.token), !cfg.client_ca_file.empty()};
  admin_ = std::make_unique<AdminRoutes>(io, control, std::move(auth), metrics);
  admin_->add_to(*routes_);
  net::ListenerOptions o;
  o.name = "admin";
  o.address = cfg.address;
  o.port = static_cast<uint16_t>(cfg.port);
  o.tls_cert_file = cfg.tls_cert_file;
  o.tls_key_file = cfg.tls_key_file;
  o.client_ca_file = cfg.client_ca_file;
  // Without a token, only a certificate authenticates: ask for one at the handshake.
  o.client_cert_required = !cfg.client_ca_file.empty() && cfg.token.empty();
  o.max_connections = cfg.max_connections;
  o.max_body = kMaxBody;
  try {
    listener_ = std::make_unique<net::HttpListener>(io, o, *routes_, metrics);
    listener_->start();
  } catch (const std::exception& e) {
    throw host::StartupError(std::string(e.what()) + " (listeners.admin, " + cfg.position.file +
                             ":" + std::to_string(cfg.position.line) + ")");
  }
  const char* authn = cfg.client_ca_file.empty() ? "bearer token"
                      : cfg.token.empty()        ? "client certificate"
                                                 : "bearer token or client certificate";
  spdlog::info("admin API on {}:{} ({}, {})", cfg.address, listener_->port(),
               listener_->tls() ? "https" : "http", authn);
  if (!listener_->tls() && !loopback(cfg.address))
    spdlog::warn(
        "admin API bound to {} without TLS: its bearer token crosses the network in clear; "
        "bind it to 127.0.0.1 or configure listeners.admin.tls",
        cfg.address);
}

AdminServer::~AdminServer() {
  listener_.reset();  // before the routes its connections may still reach
}

uint16_t AdminServer::port() const {
  return listener_->port();
}

void AdminServer::stop_accepting() {
  admin_->stop_accepting();
  listener_->stop_accepting();
}

size_t AdminServer::answering() const {
  return listener_->answering();
}

void AdminServer::close() {
  listener_->stop_accepting();
  listener_->close_all();
}

std::unique_ptr<host::RuntimeComponent> make_admin_component(host::RuntimeContext& ctx) {
  if (!ctx.cfg.listeners.admin) return nullptr;
  return std::make_unique<AdminServer>(ctx.io, *ctx.cfg.listeners.admin, ctx.connections,
                                       ctx.metrics);
}

}  // namespace oemlink::admin
