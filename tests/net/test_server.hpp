// A small HTTP/1.1 (optionally HTTPS) server on 127.0.0.1:<ephemeral> running on its own thread
// and io_context, with endpoints that exercise the client:
//   /hello          200, repeated and interleaved headers, short body
//   /echo           200, echoes the request body; X-Method / X-Custom-Seen reflect the request
//   /delay?ms=N     200 "ok" after N ms (keeps requests in flight concurrently)
//   /stall          answers only after a minute (timeouts, shutdown)
//   /close          200 with Connection: close
//   /drop           closes the connection without answering
//   /continue       "100 Continue" interim response, then 200
//   /large          200, large_body()
//   /status/429     429 with Retry-After: 120
//   /redirect       302 to /hello
//   /whoami         200, body = subject of the client certificate (TLS) or empty
#pragma once

#include "core/net/http_client.hpp"

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace oemlink::net::testing {

struct RecordedRequest {
  std::string method;
  std::string target;
  Headers headers;
  std::string body;

  // First value of a header, case-insensitive name; nullopt when absent.
  std::optional<std::string> header(std::string_view name) const;
};

struct TlsServerConfig {
  std::string cert_file;
  std::string key_file;
  std::string client_ca_file;  // non-empty: a client certificate signed by this CA is required
  bool tls11_only = false;     // speaks TLS 1.1 and nothing newer (a client's TLS floor)
};

class TestServer {
 public:
  explicit TestServer(std::optional<TlsServerConfig> tls = std::nullopt);
  ~TestServer();
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;

  uint16_t port() const { return port_; }
  std::string url(std::string_view path) const;

  int accepted_connections() const { return accepted_.load(); }
  int requests_received() const { return received_.load(); }
  int max_concurrent_requests() const { return max_in_flight_.load(); }
  int failed_handshakes() const { return failed_handshakes_.load(); }
  std::vector<RecordedRequest> requests() const;

  static std::string large_body();  // 5 MiB, position-dependent so shifts/truncation show

 private:
  struct Session;
  void start_accepting();

  std::optional<boost::asio::io_context> io_;
  std::optional<boost::asio::ip::tcp::acceptor> acceptor_;
  std::unique_ptr<boost::asio::ssl::context> ssl_;
  uint16_t port_ = 0;
  std::atomic<int> accepted_{0};
  std::atomic<int> received_{0};
  std::atomic<int> in_flight_{0};
  std::atomic<int> max_in_flight_{0};
  std::atomic<int> failed_handshakes_{0};
  mutable std::mutex mutex_;
  std::vector<RecordedRequest> requests_;
  std::thread thread_;
};

}  // namespace oemlink::net::testing
