#include "core/uplink/https_deliverer.hpp"

#include "core/uplink/https_response_classification.hpp"

#include <algorithm>

namespace oemlink::uplink {

HttpsDeliverer::HttpsDeliverer(std::string name, const config::HttpsSinkConfig& cfg,
                               boost::asio::io_context& io, bool allow_plain_http)
    : name_(std::move(name)), cfg_(cfg) {
  net::HttpClientOptions o;
  o.default_timeout = cfg.timeout;
  o.allow_plain_http = allow_plain_http;
  o.ca_file = cfg.ca_file;
  o.max_connections_per_host = std::max<long>(1, cfg.max_in_flight);
  o.max_total_connections = std::max<long>(1, cfg.max_in_flight);
  http_ = std::make_unique<net::CurlMultiClient>(io, o);
}

HttpsDeliverer::~HttpsDeliverer() {
  shutdown();
}

void HttpsDeliverer::deliver(const store::OutboxRecord& record, DeliveryDone done) {
  net::HttpRequest req;
  req.method = "POST";
  req.url = cfg_.url;
  req.headers = {{"Content-Type", "application/json"}};
  req.body = record.json;
  req.timeout = cfg_.timeout;
  req.identity = {cfg_.client_cert, cfg_.client_key};
  http_->request(std::move(req), [this, done = std::move(done)](net::HttpResponse&& r) {
    done(classify_https_response(r, cfg_.client_cert));
  });
}

void HttpsDeliverer::shutdown() {
  if (http_) http_->shutdown();  // fails in-flight requests: each done() reports retry
}

}  // namespace oemlink::uplink
