// HTTPS/1.1 server with mandatory client certificates, as DIS terminates its connections: a peer
// without a certificate from the trusted CA never gets past the handshake. Keep-alive, several
// worker threads, one coroutine per connection; what to answer is the Handler's business.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace oemlink::ingest_sink {

using HttpRequest = boost::beast::http::request<boost::beast::http::string_body>;

struct Reply {
  unsigned status = 200;
  std::string content_type = "text/plain";
  std::string body;
  std::chrono::milliseconds delay{0};  // wait this long before answering (or dropping)
  bool drop = false;                   // close the connection instead of answering
};

// Runs on any worker thread, concurrently with itself. `client_cn` is the verified client
// certificate's subject CN.
using Handler = std::function<Reply(const HttpRequest& request, std::string_view client_cn)>;

struct TlsServerOptions {
  std::string cert_file;  // server certificate chain (PEM)
  std::string key_file;   // its private key (PEM)
  std::string ca_file;    // the CA client certificates must chain to
  std::string host = "127.0.0.1";
  uint16_t port = 0;  // 0: the kernel picks; see port()
  int threads = 2;
  std::chrono::milliseconds idle_timeout{60'000};
};

class TlsServer {
 public:
  // Loads the certificates and binds; throws std::exception with the reason when it cannot.
  TlsServer(TlsServerOptions options, Handler handler);
  ~TlsServer();
  TlsServer(const TlsServer&) = delete;
  TlsServer& operator=(const TlsServer&) = delete;

  uint16_t port() const { return port_; }
  boost::asio::io_context& io() { return io_; }

  // Serves on `threads` threads (the caller's included) until stop().
  void run();
  // Thread-safe; in-flight connections are abandoned, not drained.
  void stop();

  uint64_t handshake_failures() const { return handshake_failures_.load(); }
  uint64_t connections() const { return connections_.load(); }

 private:
  struct Session;
  void start_accepting();

  TlsServerOptions options_;
  Handler handler_;
  boost::asio::io_context io_;
  boost::asio::ssl::context ssl_;
  boost::asio::ip::tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  std::atomic<uint64_t> handshake_failures_{0};
  std::atomic<uint64_t> connections_{0};
};

}  // namespace oemlink::ingest_sink
