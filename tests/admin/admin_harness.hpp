// The admin API on a real listener (port 0, its own loop thread) over a FakeConnectionControl,
// and a blocking Beast client that speaks HTTP or HTTPS (optionally with a client certificate).
#pragma once

#include "core/admin/admin_component.hpp"
#include "core/common/metrics.hpp"
#include "tests/admin/fake_connection_control.hpp"

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>

namespace oemlink::admin::testing {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

inline constexpr const char* kToken = "s3cr3t-admin-token-0123456789abcdef";

struct Reply {
  int status = 0;
  std::string body;
  std::string www_authenticate;
  std::string content_type;
  boost::json::value json() const {
    boost::system::error_code ec;
    auto v = boost::json::parse(body, ec);
    EXPECT_FALSE(ec) << body;
    return v;
  }
  std::string error() const {
    auto v = json();
    return v.is_object() && v.as_object().contains("error") ? std::string(v.at("error").as_string())
                                                            : "";
  }
};

struct ClientTls {
  std::string ca_file;
  std::string cert_file, key_file;  // empty: no client certificate
};

class AdminHarness {
 public:
  AdminHarness() : guard_(asio::make_work_guard(io_)) {}
  ~AdminHarness() { stop(); }

  template <class Fn>
  auto on_loop(Fn fn) {
    std::packaged_task<decltype(fn())()> task(std::move(fn));
    auto f = task.get_future();
    asio::post(io_, [&task] { task(); });
    return f.get();
  }

  // `cfg.port` is replaced by a free one.
  void start(config::AdminListenerConfig cfg) {
    cfg.port = 0;
    cfg.address = "127.0.0.1";
    server_ = std::make_unique<AdminServer>(io_, cfg, control_, metrics_);
    port_ = server_->port();
    thread_ = std::thread([this] { io_.run(); });
  }
  void start_with_token() {
    config::AdminListenerConfig cfg;
    cfg.token = kToken;
    start(cfg);
  }
  void stop() {
    if (!thread_.joinable()) return;
    on_loop([this] {
      server_->close();
      server_.reset();
      return 0;
    });
    guard_.reset();
    io_.stop();
    thread_.join();
  }
  // One request on a fresh connection. `authorization` empty: no header.
  Reply request(const std::string& method, const std::string& target, const std::string& body = "",
                std::optional<std::string> authorization = std::string("Bearer ") + kToken,
                const ClientTls* tls = nullptr) {
    http::request<http::string_body> req{http::string_to_verb(method), target, 11};
    req.set(http::field::host, "127.0.0.1");
    if (authorization) req.set(http::field::authorization, *authorization);
    if (!body.empty()) req.set(http::field::content_type, "application/json");
    req.body() = body;
    req.prepare_payload();
    asio::io_context io;
    http::response<http::string_body> res;
    boost::beast::flat_buffer buf;
    if (!tls) {
      tcp::socket s(io);
      s.connect({asio::ip::make_address("127.0.0.1"), port_});
      http::write(s, req);
      http::read(s, buf, res);
    } else {
      asio::ssl::context ctx(asio::ssl::context::tls_client);
      ctx.load_verify_file(tls->ca_file);
      ctx.set_verify_mode(asio::ssl::verify_peer);
      if (!tls->cert_file.empty()) {
        ctx.use_certificate_chain_file(tls->cert_file);
        ctx.use_private_key_file(tls->key_file, asio::ssl::context::pem);
      }
      asio::ssl::stream<tcp::socket> s(io, ctx);
      s.next_layer().connect({asio::ip::make_address("127.0.0.1"), port_});
      s.handshake(asio::ssl::stream_base::client);
      http::write(s, req);
      http::read(s, buf, res);  // a refused certificate surfaces here with TLS 1.3
    }
    Reply r;
    r.status = res.result_int();
    r.body = res.body();
    r.www_authenticate = std::string(res[http::field::www_authenticate]);
    r.content_type = std::string(res[http::field::content_type]);
    return r;
  }

  FakeConnectionControl& control() { return control_; }
  MetricsRegistry& metrics() { return metrics_; }
  asio::io_context& io() { return io_; }
  AdminServer& server() { return *server_; }
  uint16_t port() const { return port_; }
  uint64_t counter(std::string_view name, const MetricLabels& labels = {}) {
    return static_cast<uint64_t>(metrics_.total(name, labels));
  }

 private:
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> guard_;
  FakeConnectionControl control_;
  MetricsRegistry metrics_;
  std::unique_ptr<AdminServer> server_;
  std::thread thread_;
  uint16_t port_ = 0;
};

}  // namespace oemlink::admin::testing
