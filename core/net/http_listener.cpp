#include "core/net/http_listener.hpp"

#include "core/common/rate_limited_log.hpp"
#include "core/common/wall_clock.hpp"
#include "core/net/http_session.hpp"
#include "core/net/listener_core.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <openssl/ssl.h>

#include <sys/resource.h>

#include <algorithm>
#include <stdexcept>
#include <vector>

namespace oemlink::net {
namespace detail {

const char* rejection_name(Rejection why) {
  switch (why) {
    case Rejection::header_timeout:
      return "header_timeout";
    case Rejection::body_timeout:
      return "body_timeout";
    case Rejection::body_too_large:
      return "body_too_large";
    case Rejection::header_too_large:
      return "header_too_large";
    case Rejection::malformed:
      return "malformed";
    case Rejection::not_found:
      return "not_found";
    case Rejection::method_not_allowed:
      return "method_not_allowed";
    case Rejection::over_capacity:
      return "over_capacity";
    case Rejection::tls_handshake:
      return "tls_handshake";
    case Rejection::answer_timeout:
      return "answer_timeout";
    case Rejection::count_:
      break;
  }
  return "unknown";
}

ListenerCore::ListenerCore(boost::asio::io_context& io_, ListenerOptions o, RouteTable& r,
                           MetricsRegistry& m)
    : io(io_),
      opts(std::move(o)),
      routes(r),
      metrics(m),
      door(std::make_shared<LoopDoor>(io_)),
      accepted(m.counter("oemlink_http_connections_accepted_total",
                         "TCP connections accepted by the listener", {{"listener", opts.name}})),
      idle_closed(m.counter("oemlink_http_idle_closed_total",
                            "Keep-alive connections closed after idle_timeout",
                            {{"listener", opts.name}})),
      accept_errors(m.counter("oemlink_http_accept_errors_total",
                              "accept() failures (out of descriptors, network errors)",
                              {{"listener", opts.name}})),
      unanswered(m.counter("oemlink_http_unanswered_total",
                           "Requests whose handler dropped its responder (answered 500)",
                           {{"listener", opts.name}})) {
  for (size_t i = 0; i < static_cast<size_t>(Rejection::count_); ++i)
    rejected_[i] = &m.counter(
        "oemlink_http_rejected_total",
        "Requests or connections refused before reaching a handler, by reason",
        {{"listener", opts.name}, {"reason", rejection_name(static_cast<Rejection>(i))}});
}

void ListenerCore::count_response(const std::string& route, int status) {
  auto key = std::make_pair(route, status);
  auto it = responses_.find(key);
  if (it == responses_.end())
    it = responses_
             .emplace(
                 key,
                 &metrics.counter(
                     "oemlink_http_requests_total", "Answers written, by route and code",
                     {{"listener", opts.name}, {"route", route}, {"code", std::to_string(status)}}))
             .first;
  it->second->add();
}

}  // namespace detail

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

class HttpListener::Impl : public std::enable_shared_from_this<Impl> {
 public:
  Impl(asio::io_context& io, ListenerOptions o, RouteTable& routes, MetricsRegistry& metrics)
      : core(std::make_shared<detail::ListenerCore>(io, std::move(o), routes, metrics)),
        acceptor(io),
        retry(io) {}

  void accept() {
    acceptor.async_accept([self = shared_from_this()](const error_code& ec, tcp::socket s) {
      self->on_accept(ec, std::move(s));
    });
  }

  void on_accept(const error_code& ec, tcp::socket s) {
    if (!core->accepting) return;
    if (ec) {
      if (ec == asio::error::operation_aborted) return;
      core->accept_errors.add();
      // Out of descriptors (or a transient network error): pause instead of spinning.
      // Out of descriptors lasts as long as the flood: one line a second, the rest counted.
      static LogGate accept_log(1);
      accept_log.log(unix_ms(), spdlog::level::warn, LogFields{.listener = core->opts.name},
                     "listener {}: accept failed: {}", core->opts.name, ec.message());
      retry.expires_after(std::chrono::milliseconds(100));
      retry.async_wait([self = shared_from_this()](const error_code& e) {
        if (!e && self->core->accepting) self->accept();
      });
      return;
    }
    core->accepted.add();
    if (core->sessions.size() >= core->opts.max_connections) {
      core->reject(detail::Rejection::over_capacity);
      error_code ignored;
      s.close(ignored);
    } else {
      detail::start_session(core, std::move(s));
    }
    accept();
  }

  void close_all() {
    // close() removes the session from the set.
    std::vector<detail::SessionBase*> open(core->sessions.begin(), core->sessions.end());
    for (auto* s : open) s->close();
  }

  std::shared_ptr<detail::ListenerCore> core;
  tcp::acceptor acceptor;
  asio::steady_timer retry;
};

namespace {

// Every connection holds a descriptor. A cap above the process's limit lets a flood take the
// descriptors the outbox, outbound HTTP (polls, deliveries) and the status file need: the cap is
// kept a quarter of the limit (at least 128) below it, and the operator is told.
void cap_to_descriptor_limit(detail::ListenerCore& core) {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur == RLIM_INFINITY) return;
  const auto limit = static_cast<size_t>(lim.rlim_cur);
  const size_t reserve = std::max<size_t>(128, limit / 4);
  const size_t fit = limit > reserve + 1 ? limit - reserve : 1;
  if (core.opts.max_connections <= fit) return;
  spdlog::warn(
      "listener {}: max_connections {} lowered to {}: the process may open {} descriptors "
      "(RLIMIT_NOFILE) and keeps {} for everything else; raise the limit (systemd "
      "LimitNOFILE) to allow more",
      core.opts.name, core.opts.max_connections, fit, limit, reserve);
  core.opts.max_connections = fit;
}

// Clients present a certificate chaining to a CA of o.client_ca_file; one that does not verify
// fails the handshake (verify_peer), and without one the handshake fails only when
// client_cert_required (else the handler decides, by InboundRequest::client_verified).
void require_client_certificates(asio::ssl::context& ctx, const ListenerOptions& o) {
  error_code ec;
  ctx.load_verify_file(o.client_ca_file, ec);
  if (ec)
    throw std::runtime_error("listener " + o.name + ": client CA file " + o.client_ca_file + ": " +
                             ec.message());
  // Names the acceptable CAs in the CertificateRequest, so a client holding several
  // certificates offers the right one.
  if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(o.client_ca_file.c_str()))
    SSL_CTX_set_client_CA_list(ctx.native_handle(), names);
  ctx.set_verify_mode(asio::ssl::verify_peer |
                      (o.client_cert_required ? asio::ssl::verify_fail_if_no_peer_cert : 0));
  // With verify_peer, OpenSSL refuses to resume a session that has no id context.
  static constexpr unsigned char kContext[] = "oemlink-listener";
  SSL_CTX_set_session_id_context(ctx.native_handle(), kContext, sizeof kContext - 1);
}

}  // namespace

HttpListener::HttpListener(asio::io_context& io, ListenerOptions options, RouteTable& routes,
                           MetricsRegistry& metrics)
    : impl_(std::make_shared<Impl>(io, std::move(options), routes, metrics)) {
  const ListenerOptions& o = impl_->core->opts;
  if (o.tls_cert_file.empty() != o.tls_key_file.empty())
    throw std::runtime_error("listener " + o.name + ": TLS needs both a certificate and a key");
  if (!o.tls_cert_file.empty()) {
    auto ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
    ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                     asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                     asio::ssl::context::no_tlsv1_1 | asio::ssl::context::single_dh_use);
    error_code ec;
    ctx->use_certificate_chain_file(o.tls_cert_file, ec);
    if (ec)
      throw std::runtime_error("listener " + o.name + ": TLS certificate " + o.tls_cert_file +
                               ": " + ec.message());
    ctx->use_private_key_file(o.tls_key_file, asio::ssl::context::pem, ec);
    if (ec)
      throw std::runtime_error("listener " + o.name + ": TLS key " + o.tls_key_file + ": " +
                               ec.message());
    if (!o.client_ca_file.empty()) require_client_certificates(*ctx, o);
    impl_->core->ssl = std::move(ctx);
  } else if (!o.client_ca_file.empty()) {
    throw std::runtime_error("listener " + o.name + ": client certificates need TLS");
  }
}

HttpListener::~HttpListener() {
  impl_->core->door->shut();
  stop_accepting();
  close_all();
}

void HttpListener::start() {
  const ListenerOptions& o = impl_->core->opts;
  error_code ec;
  auto address = asio::ip::make_address(o.address, ec);
  if (ec) throw std::runtime_error("listener " + o.name + ": bad address " + o.address);
  tcp::endpoint ep(address, o.port);
  auto& a = impl_->acceptor;
  auto fail = [&](const char* what) {
    std::string msg = "listener " + o.name + ": cannot " + what + " " + o.address + ":" +
                      std::to_string(o.port) + ": " + ec.message();
    error_code ignored;
    a.close(ignored);
    throw std::runtime_error(msg);
  };
  if (a.open(ep.protocol(), ec)) fail("open");
  if (a.set_option(tcp::acceptor::reuse_address(true), ec)) fail("configure");
  if (a.bind(ep, ec)) fail("bind");
  if (a.listen(asio::socket_base::max_listen_connections, ec)) fail("listen on");
  cap_to_descriptor_limit(*impl_->core);
  impl_->core->accepting = true;
  impl_->accept();
}

uint16_t HttpListener::port() const {
  error_code ec;
  auto ep = impl_->acceptor.local_endpoint(ec);
  return ec ? 0 : ep.port();
}

bool HttpListener::tls() const {
  return impl_->core->ssl != nullptr;
}

void HttpListener::stop_accepting() {
  impl_->core->accepting = false;
  error_code ec;
  impl_->acceptor.close(ec);
  impl_->retry.cancel();
}

void HttpListener::close_all() {
  impl_->close_all();
}

size_t HttpListener::answering() const {
  return impl_->core->answering;
}

size_t HttpListener::max_connections() const {
  return impl_->core->opts.max_connections;
}

size_t HttpListener::connections() const {
  return impl_->core->sessions.size();
}

}  // namespace oemlink::net
