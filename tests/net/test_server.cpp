#include "tests/net/test_server.hpp"

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <charconv>
#include <chrono>

namespace oemlink::net::testing {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string peer_subject(tcp::socket&) {
  return {};
}
std::string peer_subject(asio::ssl::stream<tcp::socket>& stream) {
  X509* cert = SSL_get1_peer_certificate(stream.native_handle());
  if (cert == nullptr) return {};
  char buffer[256] = {};
  X509_NAME_oneline(X509_get_subject_name(cert), buffer, sizeof buffer);
  X509_free(cert);
  return buffer;
}

asio::awaitable<void> pause(std::chrono::milliseconds duration) {
  asio::steady_timer timer(co_await asio::this_coro::executor, duration);
  co_await timer.async_wait(kUseTuple);
}

}  // namespace

std::optional<std::string> RecordedRequest::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (iequals(key, name)) return value;
  }
  return std::nullopt;
}

std::string TestServer::large_body() {
  std::string body(5u << 20, '\0');
  for (size_t i = 0; i < body.size(); ++i)
    body[i] = static_cast<char>('a' + (i * 7 + i / 4096) % 26);
  return body;
}

struct TestServer::Session {
  template <class Stream>
  static asio::awaitable<void> serve(TestServer& server, Stream& stream) {
    beast::flat_buffer buffer;
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(64u << 20);
      auto [ec, n] = co_await http::async_read(stream, buffer, parser, kUseTuple);
      if (ec) co_return;
      auto request = parser.release();

      RecordedRequest record{
          std::string(request.method_string()), std::string(request.target()), {}, request.body()};
      for (const auto& field : request) {
        record.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
      }
      {
        std::lock_guard lock(server.mutex_);
        server.requests_.push_back(record);
      }
      ++server.received_;
      const int now = ++server.in_flight_;
      for (int seen = server.max_in_flight_.load();
           now > seen && !server.max_in_flight_.compare_exchange_weak(seen, now);) {
      }
      const bool keep = co_await respond(stream, request, record);
      --server.in_flight_;
      if (!keep) co_return;
    }
  }

  template <class Stream>
  static asio::awaitable<bool> respond(Stream& stream,
                                       const http::request<http::string_body>& request,
                                       const RecordedRequest& record) {
    std::string_view target = request.target();
    std::string_view query;
    if (auto q = target.find('?'); q != target.npos) {
      query = target.substr(q + 1);
      target = target.substr(0, q);
    }

    http::response<http::string_body> res{http::status::ok, request.version()};
    res.keep_alive(request.keep_alive());
    if (target == "/hello") {
      // Written raw: Beast's field container groups equal names, and the test needs to see
      // that the client keeps the exact wire order.
      const std::string raw =
          "HTTP/1.1 200 OK\r\nX-Test: first\r\nContent-Type: text/plain\r\n"
          "X-Other: middle\r\nX-Test: second\r\nContent-Length: 11\r\n\r\nhello world";
      auto [ec, n] = co_await asio::async_write(stream, asio::buffer(raw), kUseTuple);
      co_return !ec && request.keep_alive();
    }
    if (target == "/echo") {
      res.set("X-Method", record.method);
      res.set("X-Custom-Seen", record.header("X-Custom").value_or("<none>"));
      res.body() = request.body();
    } else if (target == "/delay") {
      int ms = 0;
      if (query.starts_with("ms="))
        std::from_chars(query.data() + 3, query.data() + query.size(), ms);
      co_await pause(std::chrono::milliseconds(ms));
      res.body() = "ok";
    } else if (target == "/stall") {
      co_await pause(std::chrono::minutes(1));
      res.body() = "too late";
    } else if (target == "/drop") {
      co_return false;  // closes the connection without a response
    } else if (target == "/close") {
      res.keep_alive(false);
      res.body() = "bye";
    } else if (target == "/continue") {
      const std::string interim = "HTTP/1.1 100 Continue\r\nX-Interim: yes\r\n\r\n";
      auto [ec, n] = co_await asio::async_write(stream, asio::buffer(interim), kUseTuple);
      if (ec) co_return false;
      res.set("X-Final", "yes");
      res.body() = "final";
    } else if (target == "/large") {
      res.body() = large_body();
    } else if (target == "/status/429") {
      res.result(http::status::too_many_requests);
      res.set(http::field::retry_after, "120");
      res.body() = "slow down";
    } else if (target == "/redirect") {
      res.result(http::status::found);
      res.set(http::field::location, "/hello");
    } else if (target == "/whoami") {
      res.body() = peer_subject(stream);
    } else {
      res.result(http::status::not_found);
    }
    res.prepare_payload();
    auto [ec, n] = co_await http::async_write(stream, res, kUseTuple);
    co_return !ec && res.keep_alive();
  }

  static asio::awaitable<void> run(TestServer& server, tcp::socket socket) {
    if (!server.ssl_) {
      co_await serve(server, socket);
      co_return;
    }
    asio::ssl::stream<tcp::socket> stream(std::move(socket), *server.ssl_);
    auto [ec] = co_await stream.async_handshake(asio::ssl::stream_base::server, kUseTuple);
    if (ec) {
      ++server.failed_handshakes_;
      co_return;
    }
    co_await serve(server, stream);
  }
};

TestServer::TestServer(std::optional<TlsServerConfig> tls) {
  if (tls) {
    ssl_ = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
    ssl_->use_certificate_chain_file(tls->cert_file);
    ssl_->use_private_key_file(tls->key_file, asio::ssl::context::pem);
    if (tls->tls11_only) {
      SSL_CTX* ctx = ssl_->native_handle();
      SSL_CTX_set_security_level(ctx, 0);  // OpenSSL 3 refuses TLS 1.1 above level 0
      SSL_CTX_set_min_proto_version(ctx, TLS1_1_VERSION);
      SSL_CTX_set_max_proto_version(ctx, TLS1_1_VERSION);
    }
    if (!tls->client_ca_file.empty()) {
      ssl_->load_verify_file(tls->client_ca_file);
      ssl_->set_verify_mode(asio::ssl::verify_peer | asio::ssl::verify_fail_if_no_peer_cert);
    }
  }
  io_.emplace();
  acceptor_.emplace(*io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  port_ = acceptor_->local_endpoint().port();
  start_accepting();
  thread_ = std::thread([this] { io_->run(); });
}

void TestServer::start_accepting() {
  asio::co_spawn(
      *io_,
      [this]() -> asio::awaitable<void> {
        for (;;) {
          auto [ec, socket] = co_await acceptor_->async_accept(kUseTuple);
          if (ec) co_return;
          ++accepted_;
          asio::co_spawn(*io_, Session::run(*this, std::move(socket)), asio::detached);
        }
      },
      asio::detached);
}

TestServer::~TestServer() {
  io_->stop();
  thread_.join();
  acceptor_.reset();
  // Destroys the suspended sessions (and their sockets) while this object is still whole.
  io_.reset();
}

std::string TestServer::url(std::string_view path) const {
  return std::string(ssl_ ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_) +
         std::string(path);
}

std::vector<RecordedRequest> TestServer::requests() const {
  std::lock_guard lock(mutex_);
  return requests_;
}

}  // namespace oemlink::net::testing
