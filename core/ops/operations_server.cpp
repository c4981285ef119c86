#include "core/ops/operations_server.hpp"

#include "core/host/driver_set.hpp"
#include "core/net/http_listener.hpp"
#include "core/net/route_table.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/ip/address.hpp>

namespace oemlink::ops {
namespace {

// Prometheus's text exposition format, version 0.0.4: what every scraper accepts.
constexpr const char* kMetricsType = "text/plain; version=0.0.4; charset=utf-8";

net::InboundResponse json(int status, std::string body) {
  net::InboundResponse r;
  r.status = status;
  r.headers = {{"Content-Type", "application/json"}, {"Cache-Control", "no-store"}};
  r.body = std::move(body);
  return r;
}

bool loopback(const std::string& address) {
  boost::system::error_code ec;
  auto a = boost::asio::ip::make_address(address, ec);
  return !ec && a.is_loopback();
}

}  // namespace

OperationsServer::OperationsServer(boost::asio::io_context& io,
                                   const config::OperationsListenerConfig& cfg,
                                   MetricsRegistry& metrics, HealthSource health)
    : metrics_(metrics), health_(std::move(health)), routes_(std::make_unique<net::RouteTable>()) {
  add_routes();
  net::ListenerOptions o;
  o.name = "operations";
  o.address = cfg.address;
  o.port = static_cast<uint16_t>(cfg.port);
  o.max_connections = cfg.max_connections;
  o.max_body = 1024;  // every route is a GET: nothing to read
  try {
    listener_ = std::make_unique<net::HttpListener>(io, o, *routes_, metrics_);
    listener_->start();
  } catch (const std::exception& e) {
    throw host::StartupError(std::string(e.what()) + " (listeners.operations, " +
                             cfg.position.file + ":" + std::to_string(cfg.position.line) + ")");
  }
  spdlog::info("operations listener on {}:{} (/metrics, /healthz, /readyz)", cfg.address,
               listener_->port());
  if (!loopback(cfg.address))
    spdlog::warn(
        "operations listener bound to {}: /metrics and /readyz answer anyone who reaches it "
        "(no authentication, like every Prometheus target); keep it off public networks",
        cfg.address);
}

OperationsServer::~OperationsServer() {
  listener_.reset();  // before the routes its connections may still reach
}

void OperationsServer::add_routes() {
  routes_->add("GET", "/metrics", "metrics", [this](net::InboundRequest&&, net::ResponderPtr r) {
    net::InboundResponse resp;
    resp.headers = {{"Content-Type", kMetricsType}, {"Cache-Control", "no-store"}};
    resp.body = metrics_.exposition();
    r->respond(std::move(resp));
  });
  routes_->add("GET", "/healthz", "healthz", [](net::InboundRequest&&, net::ResponderPtr r) {
    r->respond(json(200, R"({"status":"ok"})"));
  });
  routes_->add("GET", "/readyz", "readyz", [this](net::InboundRequest&&, net::ResponderPtr r) {
    Readiness ready = readiness_.evaluate(health_());
    r->respond(json(ready.ready ? 200 : 503, ready.to_json()));
  });
}

uint16_t OperationsServer::port() const {
  return listener_->port();
}

size_t OperationsServer::answering() const {
  return listener_->answering();
}

void OperationsServer::close() {
  listener_->stop_accepting();
  listener_->close_all();
}

std::unique_ptr<host::RuntimeComponent> make_operations_component(host::RuntimeContext& ctx) {
  if (!ctx.cfg.listeners.operations) return nullptr;
  return std::make_unique<OperationsServer>(ctx.io, *ctx.cfg.listeners.operations, ctx.metrics,
                                            ctx.health);
}

}  // namespace oemlink::ops
