// An HttpListener on its own loop thread, and a blocking test client that speaks raw bytes (to
// send what a well-behaved client never would) or whole requests. Shared by the listener tests.
#pragma once

#include "core/net/http_listener.hpp"

#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <poll.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>

namespace oemlink::net::testing {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

class ListenerHarness {
 public:
  ListenerHarness() : guard_(asio::make_work_guard(io_)) {}
  ~ListenerHarness() { stop(); }

  // Builds and starts the listener, then runs the loop on its own thread.
  void start(ListenerOptions o) {
    o.address = "127.0.0.1";
    o.port = 0;
    if (o.name == "inbound") o.name = "t";
    name_ = o.name;
    listener_ = std::make_unique<HttpListener>(io_, o, routes_, metrics_);
    listener_->start();
    port_ = listener_->port();
    thread_ = std::thread([this] { io_.run(); });
  }
  void stop() {
    if (!thread_.joinable()) return;
    std::promise<void> gone;
    asio::post(io_, [this, &gone] {
      listener_.reset();
      gone.set_value();
    });
    gone.get_future().wait();
    guard_.reset();
    io_.stop();
    thread_.join();
  }
  // Runs `fn` on the loop and waits for it.
  template <class Fn>
  auto on_loop(Fn fn) {
    std::packaged_task<decltype(fn())()> task(std::move(fn));
    auto f = task.get_future();
    asio::post(io_, [&task] { task(); });
    return f.get();
  }

  // A rejection reason ("header_timeout"), or "responses_<route>_<code>", or one of the
  // listener's own counters ("connections_accepted", "idle_closed", "unanswered").
  uint64_t counter(const std::string& what) {
    MetricLabels l{{"listener", name_}};
    std::string family;
    if (what.rfind("rejected_", 0) == 0) {
      family = "oemlink_http_rejected_total";
      l["reason"] = what.substr(9);
    } else if (what.rfind("responses_", 0) == 0) {
      family = "oemlink_http_requests_total";
      size_t code = what.rfind('_');
      l["route"] = what.substr(10, code - 10);
      l["code"] = what.substr(code + 1);
    } else {
      family = "oemlink_http_" + what + "_total";
    }
    return static_cast<uint64_t>(metrics_.total(family, l));
  }

  RouteTable& routes() { return routes_; }
  uint16_t port() const { return port_; }
  asio::io_context& io() { return io_; }
  HttpListener& listener() { return *listener_; }

 private:
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> guard_;
  RouteTable routes_;
  MetricsRegistry metrics_;
  std::unique_ptr<HttpListener> listener_;
  std::string name_;
  uint16_t port_ = 0;
  std::thread thread_;
};

// A blocking client; a read gives up when nothing arrives within `timeout`.
class RawClient {
 public:
  using Response = std::optional<http::response<http::string_body>>;

  explicit RawClient(uint16_t port, std::chrono::milliseconds timeout = std::chrono::seconds(5))
      : socket_(shared_io()), timeout_(timeout) {
    socket_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  }

  bool send(std::string_view bytes) {
    boost::system::error_code ec;
    asio::write(socket_, asio::buffer(bytes.data(), bytes.size()), ec);
    return !ec;
  }

  // The next response; nullopt when the connection closed or the read timed out.
  std::optional<http::response<http::string_body>> response() {
    // Asio's blocking reads wait in poll() without a limit: wait here, with one.
    if (buffer_.size() == 0 && !readable()) return std::nullopt;
    http::response<http::string_body> res;
    boost::system::error_code ec;
    http::read(socket_, buffer_, res, ec);
    if (ec) return std::nullopt;
    return res;
  }

  // True when the server closed the connection (EOF or reset) before `timeout`.
  bool closed_by_server() {
    if (!readable()) return false;
    char c;
    boost::system::error_code ec;
    size_t n = socket_.read_some(asio::buffer(&c, 1), ec);
    return n == 0 && (ec == asio::error::eof || ec == asio::error::connection_reset);
  }

  tcp::socket& socket() { return socket_; }

  // True when something (data or EOF) can be read before the timeout.
  bool readable() {
    pollfd p{socket_.native_handle(), POLLIN, 0};
    return ::poll(&p, 1, static_cast<int>(timeout_.count())) > 0;
  }

 private:
  // Blocking calls only: one context serves every client (a context per client costs three
  // descriptors, which a thousand clients cannot spare).
  static asio::io_context& shared_io() {
    static asio::io_context io;
    return io;
  }
  tcp::socket socket_;
  std::chrono::milliseconds timeout_;
  boost::beast::flat_buffer buffer_;
};

inline std::string post_request(std::string_view path, std::string_view body,
                                std::string_view extra_headers = "") {
  return "POST " + std::string(path) +
         " HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n" + std::string(extra_headers) +
         "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + std::string(body);
}

}  // namespace oemlink::net::testing
