// DIMO's ingest node as an outbox sink: POST / with one CloudEvent over mutual TLS, through the
// host's curl-multi client on the event loop (keep-alive, many requests in flight).
//
// What the peer's answers mean: classify_https_response() (https_response_classification.hpp).
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

 private:
  std::string name_;
  config::HttpsSinkConfig cfg_;
  std::unique_ptr<net::CurlMultiClient> http_;
};

}  // namespace oemlink::uplink
