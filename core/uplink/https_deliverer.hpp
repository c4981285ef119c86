// DIMO's ingest node as an outbox sink: POST / with one CloudEvent over mutual TLS, through the
// host's curl-multi client on the event loop (keep-alive, many requests in flight).
//
// What the peer's answers mean (dimo-wire.md section 5):
//   2xx               delivered
//   400, 413          rejected: the event will never be accepted; dead-lettered with the text
//   408, 429, 5xx     retry, honouring Retry-After
//   401, 403, 404...  retry, loudly: a configuration problem (certificate, URL), not the event's
//   TLS/network       retry; a handshake failure names the client certificate in use
#pragma once

#include "core/config/config.hpp"
#include "core/net/http_client.hpp"
#include "core/uplink/event_deliverer.hpp"

#include <boost/asio/io_context.hpp>

#include <memory>

namespace oemlink::uplink {

class HttpsDeliverer final : public EventDeliverer {
 public:
  // `allow_plain_http` lets tests point at http:// mocks; production URLs are https://.
  HttpsDeliverer(std::string name, const config::HttpsSinkConfig& cfg, boost::asio::io_context& io,
                 bool allow_plain_http);
  ~HttpsDeliverer() override;
  std::string_view name() const override { return name_; }
  size_t max_in_flight() const override { return cfg_.max_in_flight; }
  void deliver(const store::OutboxRecord& record, DeliveryDone done) override;
  void shutdown() override;

  // Maps a response to a delivery result (exposed for tests).
  static DeliveryResult classify(const net::HttpResponse& r, const config::HttpsSinkConfig& cfg);

 private:
  std::string name_;
  config::HttpsSinkConfig cfg_;
  std::unique_ptr<net::CurlMultiClient> http_;
};

}  // namespace oemlink::uplink
