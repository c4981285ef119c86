// Plain-HTTP/1.1 server the mock automaker services are built on. Keep-alive, several worker
// threads, one coroutine per connection. A reply may ask to be delayed (injected latency): the
// wait is an Asio timer, so a thousand delayed requests cost a thousand timers, not threads.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace oemlink::mock_oem {

using Request = boost::beast::http::request<boost::beast::http::string_body>;

struct Reply {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
  std::string body;
  std::chrono::milliseconds delay{0};  // wait this long before answering (or dropping)
  bool drop = false;                   // close the connection instead of answering
};

// Runs on any worker thread, concurrently with itself.
using Handler = std::function<Reply(const Request& request)>;

struct MockHttpServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;  // 0: the kernel picks; see port()
  int threads = 2;
  std::chrono::milliseconds idle_timeout{60'000};
  size_t body_limit = 1u << 20;
  std::string server_name = "oemlink-mock-oem";
};

class MockHttpServer {
 public:
  // Binds; throws std::exception with the reason when it cannot.
  MockHttpServer(MockHttpServerOptions options, Handler handler);
  ~MockHttpServer();
  MockHttpServer(const MockHttpServer&) = delete;
  MockHttpServer& operator=(const MockHttpServer&) = delete;

  uint16_t port() const { return port_; }
  boost::asio::io_context& io() { return io_; }

  // Serves on `threads` threads (the caller's included) until stop().
  void run();
  // Thread-safe; in-flight connections are abandoned.
  void stop();

  uint64_t requests() const { return requests_.load(); }

 private:
  struct Session;
  void start_accepting();

  MockHttpServerOptions options_;
  Handler handler_;
  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  std::atomic<uint64_t> requests_{0};
};

}  // namespace oemlink::mock_oem
