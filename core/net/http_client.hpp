// The host's HTTP client: libcurl's multi-socket interface driven by the Asio event loop.
// No thread per request and no blocking transfer on a worker; connections are reused.
#pragma once

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace oemlink::net {

class ClockSkewEstimator;

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

// When transport_ok is false there is no HTTP response: status, headers and body are empty even
// if part of a response had arrived, so callers cannot mistake a truncated reply for a real one.
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
  // PEM CA bundle (CURLOPT_CAINFO). It replaces libcurl's default bundle file; Debian's libcurl
  // keeps its CA path (/etc/ssl/certs) as well, so there the system roots stay trusted too.
  std::string ca_file;
  long max_connections_per_host = 32;
  long max_total_connections = 256;
  // A body larger than this fails the transfer, so a misbehaving server cannot exhaust memory.
  size_t max_response_bytes = 64u << 20;
  // Fed the Date header of every answer (borrowed, must outlive the client); null: none.
  ClockSkewEstimator* clock_skew = nullptr;
  // Its answers are the ingest node's, whose clock decides what it prunes: they outrank every
  // other peer's (clock_skew_estimator.hpp).
  bool clock_authoritative = false;
};

using HttpDone = std::function<void(HttpResponse&&)>;

// Each instance has its own connection cache (keep-alive, TLS sessions), so the host shares one
// instance rather than creating one per driver. Redirects are not followed: drivers see 3xx
// themselves. "io thread" means the single thread running `io`; the client has no strand, so
// `io` must not be run from several threads at once, and it must outlive the client.
class CurlMultiClient {
 public:
  CurlMultiClient(boost::asio::io_context& io, HttpClientOptions options);
  // [io thread, or with the io_context not running] Aborts in-flight requests WITHOUT calling
  // their `done`; call shutdown() first if every callback must run.
  ~CurlMultiClient();
  CurlMultiClient(const CurlMultiClient&) = delete;
  CurlMultiClient& operator=(const CurlMultiClient&) = delete;

  // [any-thread] Starts a request; `done` runs exactly once on the io_context's thread, never
  // inside request() itself (unless the client is destroyed first, see the destructor).
  // Malformed requests (bad URL, http:// when not allowed) complete with transport_ok=false.
  void request(HttpRequest request, HttpDone done);

  // [any thread] Requests accepted by request() whose `done` has not run yet.
  size_t in_flight() const;

  // [io thread] Fails every in-flight request with "shutdown" and refuses new ones. Their `done`
  // callbacks run synchronously inside this call.
  void shutdown();

 private:
  struct Impl;
  // Shared so that queued Asio handlers can tell (via weak_ptr) that the client is gone.
  std::shared_ptr<Impl> impl_;
};

}  // namespace oemlink::net
