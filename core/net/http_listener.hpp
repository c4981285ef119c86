// HttpListener: the host's inbound HTTP/1.1 server (Boost.Beast), plain or TLS, on the host's
// Asio loop. It reads each request within fixed limits, routes it through a RouteTable and
// writes the handler's answer; anything that breaks a limit is answered (or closed)
// and never reaches a handler (counted in oemlink_http_rejected_total{listener,reason}):
//
//   header not complete within header_timeout (slow-loris)   408, close  header_timeout
//   body not complete within body_timeout                    408, close  body_timeout
//   Content-Length or chunked body above max_body            413, close  body_too_large
//   header block above max_header                            431, close  header_too_large
//   unparseable request; Transfer-Encoding but plain chunked 400, close  malformed
//   no route for the path                                    404         not_found
//   path known, method not                                   405 + Allow method_not_allowed
//   max_connections already open                             closed at accept  over_capacity
//   TLS handshake failed or too slow                         closed      tls_handshake
//   handler gave no answer within answer_timeout             503         answer_timeout
//
// Over capacity, the new connection is accepted and closed at once without a byte written:
// writing a 503 would spend on the flood the memory and time the cap is there to save, and a
// webhook sender treats a reset like a 503 (it retries).
//
// Keep-alive: HTTP/1.1 connections stay open (unless the client says close) for idle_timeout
// between requests; requests on one connection are answered in order, one at a time.
//
// Metrics (labelled listener=<name>): oemlink_http_connections_accepted_total, the rejections
// above, oemlink_http_idle_closed_total, and oemlink_http_requests_total{route,code} for every
// answer written (route "none" for answers given before a route was found).
//
// Threading: construct, start(), stop_accepting() and close_all() on the loop thread; handlers run
// there; Responder::respond may be called from any thread.
#pragma once

#include "core/common/metrics.hpp"
#include "core/net/route_table.hpp"

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace oemlink::net {

struct ListenerOptions {
  std::string name = "inbound";  // labels the counters
  std::string address = "127.0.0.1";
  uint16_t port = 0;          // 0: any free port (port() tells which)
  std::string tls_cert_file;  // PEM chain; TLS when both are set
  std::string tls_key_file;   // PEM
  // With TLS: a client may present a certificate, which must chain to a CA in this PEM file or
  // the handshake fails; InboundRequest::client_verified tells a handler it did. Empty: clients
  // are not asked for one.
  std::string client_ca_file;
  bool client_cert_required = false;  // with client_ca_file: no certificate, no handshake
  size_t max_body = 64 * 1024;
  size_t max_header = 16 * 1024;
  std::chrono::milliseconds header_timeout{10'000};  // from accept (TLS included) to a full header
  std::chrono::milliseconds body_timeout{10'000};    // from the header to the full body
  std::chrono::milliseconds idle_timeout{60'000};    // keep-alive wait for the next request
  std::chrono::milliseconds write_timeout{10'000};   // to write one answer
  std::chrono::milliseconds answer_timeout{60'000};  // the handler's last chance to answer
  size_t max_connections = 1024;  // lowered to fit RLIMIT_NOFILE (see max_connections())
};

class HttpListener {
 public:
  // Loads the TLS certificate and key when given: throws std::runtime_error naming the file.
  HttpListener(boost::asio::io_context& io, ListenerOptions options, RouteTable& routes,
               MetricsRegistry& metrics);
  ~HttpListener();  // closes every connection; late answers are dropped
  HttpListener(const HttpListener&) = delete;
  HttpListener& operator=(const HttpListener&) = delete;

  // Binds and listens; throws std::runtime_error naming address:port when it cannot.
  void start();
  uint16_t port() const;
  bool tls() const;

  // No new connections; open ones are served until close_all().
  void stop_accepting();
  // Closes every connection, answered or not.
  void close_all();
  size_t connections() const;
  // The connection cap in force: max_connections, lowered by start() to fit the process's
  // descriptor limit (a quarter of it, at least 128, is kept for the rest of the daemon).
  size_t max_connections() const;
  // Requests handed to a handler whose answer is not written yet (shutdown waits for them).
  size_t answering() const;

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace oemlink::net
