#include "tools/mock-oem/common/mock_http_server.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <thread>

namespace oemlink::mock_oem {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);
constexpr auto kWriteTimeout = std::chrono::seconds(30);

}  // namespace

struct MockHttpServer::Session {
  static asio::awaitable<void> run(MockHttpServer& server, tcp::socket socket) {
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(server.options_.body_limit);
      stream.expires_after(server.options_.idle_timeout);
      auto [read_ec, n] = co_await http::async_read(stream, buffer, parser, kUseTuple);
      if (read_ec) {
        if (read_ec.category() != http::make_error_code(http::error::end_of_stream).category() ||
            read_ec == http::error::end_of_stream)
          co_return;
        http::response<http::string_body> bad{read_ec == http::error::body_limit
                                                  ? http::status::payload_too_large
                                                  : http::status::bad_request,
                                              11};
        bad.set(http::field::content_type, "text/plain");
        bad.body() = "malformed HTTP request: " + read_ec.message() + "\n";
        bad.keep_alive(false);
        bad.prepare_payload();
        stream.expires_after(kWriteTimeout);
        co_await http::async_write(stream, bad, kUseTuple);
        co_return;
      }
      ++server.requests_;
      const Request request = parser.release();
      Reply reply;
      try {
        reply = server.handler_(request);
      } catch (const std::exception& e) {
        spdlog::error("mock handler failed: {}", e.what());
        reply = Reply{500, "text/plain", {}, std::string("internal error: ") + e.what() + "\n"};
      }
      if (reply.delay.count() > 0) {
        asio::steady_timer timer(co_await asio::this_coro::executor, reply.delay);
        co_await timer.async_wait(kUseTuple);
      }
      if (reply.drop) co_return;

      http::response<http::string_body> response{static_cast<http::status>(reply.status),
                                                 request.version()};
      response.set(http::field::server, server.options_.server_name);
      response.set(http::field::content_type, reply.content_type);
      for (auto& [name, value] : reply.headers) response.insert(name, value);
      response.keep_alive(request.keep_alive());
      response.body() = std::move(reply.body);
      response.prepare_payload();
      stream.expires_after(kWriteTimeout);
      auto [write_ec, written] = co_await http::async_write(stream, response, kUseTuple);
      if (write_ec || !response.keep_alive()) co_return;
    }
  }
};

MockHttpServer::MockHttpServer(MockHttpServerOptions options, Handler handler)
    : options_(std::move(options)), handler_(std::move(handler)), acceptor_(io_) {
  const tcp::endpoint endpoint(asio::ip::make_address(options_.host), options_.port);
  acceptor_.open(endpoint.protocol());
  acceptor_.set_option(tcp::acceptor::reuse_address(true));
  acceptor_.bind(endpoint);
  acceptor_.listen(asio::socket_base::max_listen_connections);
  port_ = acceptor_.local_endpoint().port();
  start_accepting();
}

MockHttpServer::~MockHttpServer() {
  stop();
}

void MockHttpServer::start_accepting() {
  asio::co_spawn(
      io_,
      [this]() -> asio::awaitable<void> {
        for (;;) {
          auto [ec, socket] = co_await acceptor_.async_accept(kUseTuple);
          if (ec == asio::error::operation_aborted || !acceptor_.is_open()) co_return;
          if (ec) {
            // EMFILE under a connection flood: back off instead of spinning on accept.
            spdlog::warn("accept failed: {}", ec.message());
            asio::steady_timer pause(acceptor_.get_executor(), std::chrono::milliseconds(50));
            co_await pause.async_wait(kUseTuple);
            continue;
          }
          socket.set_option(tcp::no_delay(true), ec);
          asio::co_spawn(acceptor_.get_executor(), Session::run(*this, std::move(socket)),
                         asio::detached);
        }
      },
      asio::detached);
}

void MockHttpServer::run() {
  std::vector<std::thread> workers;
  for (int i = 1; i < options_.threads; ++i) workers.emplace_back([this] { io_.run(); });
  io_.run();
  for (auto& worker : workers) worker.join();
}

void MockHttpServer::stop() {
  asio::post(io_, [this] {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
  });
  io_.stop();
}

}  // namespace oemlink::mock_oem
