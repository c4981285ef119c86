#include "tools/ingest-sink/tls_server.hpp"

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <ctime>
#include <thread>
#include <vector>

namespace oemlink::ingest_sink {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

// RFC 9110's IMF-fixdate, as DIS (Go's net/http) sends on every answer: `oemlink doctor` reads
// its clock skew from it.
std::string http_date_now() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}
using asio::ip::tcp;
using Stream = beast::ssl_stream<beast::tcp_stream>;
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);
constexpr auto kHandshakeTimeout = std::chrono::seconds(10);
constexpr auto kWriteTimeout = std::chrono::seconds(30);
constexpr size_t kBodyLimit = 16u << 20;

std::string client_common_name(SSL* ssl) {
  X509* cert = SSL_get0_peer_certificate(ssl);
  if (cert == nullptr) return {};
  char cn[256] = {};
  if (X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn) < 0)
    return {};
  return cn;
}

// OpenSSL's handshake error says "certificate verify failed"; the verify result says why
// ("certificate has expired", "unable to get local issuer certificate").
std::string handshake_failure_reason(const boost::system::error_code& ec, SSL* ssl) {
  std::string reason = ec.message();
  const long verify = SSL_get_verify_result(ssl);
  if (verify != X509_V_OK)
    reason += std::string(" (") + X509_verify_cert_error_string(verify) + ")";
  return reason;
}

}  // namespace

struct TlsServer::Session {
  static asio::awaitable<void> run(TlsServer& server, tcp::socket socket) {
    std::string peer;
    if (boost::system::error_code ec; true) {
      auto endpoint = socket.remote_endpoint(ec);
      if (!ec) peer = endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
    }
    Stream stream(std::move(socket), server.ssl_);
    beast::get_lowest_layer(stream).expires_after(kHandshakeTimeout);
    auto [hs_ec] = co_await stream.async_handshake(asio::ssl::stream_base::server, kUseTuple);
    if (hs_ec) {
      ++server.handshake_failures_;
      spdlog::warn("TLS handshake with {} failed: {}", peer,
                   handshake_failure_reason(hs_ec, stream.native_handle()));
      co_return;
    }
    ++server.connections_;
    const std::string client_cn = client_common_name(stream.native_handle());
    spdlog::debug("connection from {} (client CN {})", peer, client_cn);
    if (co_await serve(server, stream, client_cn)) {
      beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(2));
      co_await stream.async_shutdown(kUseTuple);
    }
  }

  // Returns: true when the connection should be closed politely (close_notify), false when it is
  // to be cut (a drop, or the peer already went away).
  static asio::awaitable<bool> serve(TlsServer& server, Stream& stream,
                                     const std::string& client_cn) {
    beast::flat_buffer buffer;
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(kBodyLimit);
      beast::get_lowest_layer(stream).expires_after(server.options_.idle_timeout);
      auto [read_ec, n] = co_await http::async_read(stream, buffer, parser, kUseTuple);
      if (read_ec) {
        if (read_ec.category() != http::make_error_code(http::error::end_of_stream).category() ||
            read_ec == http::error::end_of_stream)
          co_return false;
        // A malformed HTTP message: say so once, then hang up (the stream is out of sync).
        http::response<http::string_body> bad{read_ec == http::error::body_limit
                                                  ? http::status::payload_too_large
                                                  : http::status::bad_request,
                                              11};
        bad.set(http::field::content_type, "text/plain");
        bad.body() = "malformed HTTP request: " + read_ec.message() + "\n";
        bad.keep_alive(false);
        bad.prepare_payload();
        beast::get_lowest_layer(stream).expires_after(kWriteTimeout);
        co_await http::async_write(stream, bad, kUseTuple);
        co_return true;
      }
      const HttpRequest request = parser.release();
      Reply reply;
      try {
        reply = server.handler_(request, client_cn);
      } catch (const std::exception& e) {
        spdlog::error("handler failed: {}", e.what());
        reply = Reply{500, "text/plain", std::string("internal error: ") + e.what() + "\n"};
      }
      if (reply.delay.count() > 0) {
        asio::steady_timer timer(co_await asio::this_coro::executor, reply.delay);
        co_await timer.async_wait(kUseTuple);
      }
      if (reply.drop) co_return false;

      http::response<http::string_body> response{static_cast<http::status>(reply.status),
                                                 request.version()};
      response.set(http::field::server, "oemlink-ingest-sink");
      response.set(http::field::date, http_date_now());
      response.set(http::field::content_type, reply.content_type);
      response.keep_alive(request.keep_alive());
      response.body() = std::move(reply.body);
      response.prepare_payload();
      beast::get_lowest_layer(stream).expires_after(kWriteTimeout);
      auto [write_ec, written] = co_await http::async_write(stream, response, kUseTuple);
      if (write_ec) co_return false;
      if (!response.keep_alive()) co_return true;
    }
  }
};

TlsServer::TlsServer(TlsServerOptions options, Handler handler)
    : options_(std::move(options)),
      handler_(std::move(handler)),
      ssl_(asio::ssl::context::tls_server),
      acceptor_(io_) {
  ssl_.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                   asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                   asio::ssl::context::no_tlsv1_1);
  ssl_.use_certificate_chain_file(options_.cert_file);
  ssl_.use_private_key_file(options_.key_file, asio::ssl::context::pem);
  ssl_.load_verify_file(options_.ca_file);
  ssl_.set_verify_mode(asio::ssl::verify_peer | asio::ssl::verify_fail_if_no_peer_cert);
  // Tells clients which CA to pick a certificate for, as a real mTLS endpoint does.
  SSL_CTX_set_client_CA_list(ssl_.native_handle(),
                             SSL_load_client_CA_file(options_.ca_file.c_str()));

  const tcp::endpoint endpoint(asio::ip::make_address(options_.host), options_.port);
  acceptor_.open(endpoint.protocol());
  acceptor_.set_option(tcp::acceptor::reuse_address(true));
  acceptor_.bind(endpoint);
  acceptor_.listen(asio::socket_base::max_listen_connections);
  port_ = acceptor_.local_endpoint().port();
  start_accepting();
}

TlsServer::~TlsServer() {
  stop();
}

void TlsServer::start_accepting() {
  asio::co_spawn(
      io_,
      [this]() -> asio::awaitable<void> {
        for (;;) {
          auto [ec, socket] = co_await acceptor_.async_accept(kUseTuple);
          if (ec == asio::error::operation_aborted || !acceptor_.is_open()) co_return;
          if (ec) {
            spdlog::warn("accept failed: {}", ec.message());
            continue;
          }
          socket.set_option(tcp::no_delay(true), ec);
          asio::co_spawn(acceptor_.get_executor(), Session::run(*this, std::move(socket)),
                         asio::detached);
        }
      },
      asio::detached);
}

void TlsServer::run() {
  std::vector<std::thread> workers;
  for (int i = 1; i < options_.threads; ++i) workers.emplace_back([this] { io_.run(); });
  io_.run();
  for (auto& worker : workers) worker.join();
}

void TlsServer::stop() {
  asio::post(io_, [this] {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
  });
  io_.stop();
}

}  // namespace oemlink::ingest_sink
