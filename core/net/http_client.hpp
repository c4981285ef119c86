// The host's HTTP client: libcurl's multi-socket interface driven by the Asio event loop.
// No thread per request and no blocking transfer on a worker; connections are reused.
#pragma once

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace oemlink::net {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct TlsClientIdentity {
  std::string cert_file;  // PEM client certificate (mutual TLS); empty: none
  std::string key_file;   // PEM private key
};

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  Headers headers;
  std::string body;
  std::chrono::milliseconds timeout{0};  // 0: the client's default
  TlsClientIdentity identity;
};

struct HttpResponse {
  bool transport_ok = false;  // false: timeout, DNS, connect, TLS or shutdown; see error
  long status = 0;
  Headers headers;  // in arrival order, names as sent
  std::string body;
  std::string error;  // transport failure, human readable (curl's message and code)
  bool timed_out = false;
};

struct HttpClientOptions {
  std::chrono::milliseconds default_timeout{30'000};
  bool verify_tls = true;
  bool allow_plain_http = false;
  std::string ca_file;  // extra CA bundle; empty: system default
  long max_connections_per_host = 32;
  long max_total_connections = 256;
};

using HttpDone = std::function<void(HttpResponse&&)>;

class CurlMultiClient {
 public:
  CurlMultiClient(boost::asio::io_context& io, HttpClientOptions options);
  ~CurlMultiClient();
  CurlMultiClient(const CurlMultiClient&) = delete;
  CurlMultiClient& operator=(const CurlMultiClient&) = delete;

  // [any-thread] Starts a request; `done` runs exactly once on the io_context's thread.
  // Malformed requests (bad URL, http:// when not allowed) complete with transport_ok=false.
  void request(HttpRequest request, HttpDone done);

  // [io thread] Requests currently in flight.
  size_t in_flight() const;

  // [io thread] Fails every in-flight request with "shutdown" and refuses new ones.
  void shutdown();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace oemlink::net
