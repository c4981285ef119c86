// A blocking HTTPS/1.1 client for the ingest sink tests: one TLS connection, reused across
// requests (keep-alive), with or without a client certificate.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace oemlink::ingest_sink::testing {

struct ClientIdentity {
  std::string cert_file;  // empty: present no client certificate
  std::string key_file;
};

struct HttpAnswer {
  unsigned status = 0;
  std::string body;
};

class SinkClient {
 public:
  SinkClient(uint16_t port, const std::string& ca_file, ClientIdentity identity);
  ~SinkClient();

  // nullopt when the request got no answer: the handshake failed (with TLS 1.3 a refused client
  // certificate shows up only here), or the server closed the connection. The next call
  // reconnects.
  std::optional<HttpAnswer> post(const std::string& body) { return send(true, "/", body); }
  std::optional<HttpAnswer> get(const std::string& target) { return send(false, target, {}); }

  int connects() const { return connects_; }  // TCP+TLS connections opened so far

 private:
  std::optional<HttpAnswer> send(bool post, const std::string& target, const std::string& body);
  bool connect();

  uint16_t port_;
  boost::asio::io_context io_;
  boost::asio::ssl::context ssl_;
  std::unique_ptr<boost::asio::ssl::stream<boost::asio::ip::tcp::socket>> stream_;
  boost::beast::flat_buffer buffer_;
  int connects_ = 0;
};

}  // namespace oemlink::ingest_sink::testing
