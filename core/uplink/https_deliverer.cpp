#include "core/uplink/https_deliverer.hpp"

#include "core/common/wall_clock.hpp"
#include "core/uplink/event_time.hpp"
#include "core/uplink/https_response_classification.hpp"

#include <algorithm>
#include <string>

namespace oemlink::uplink {

HttpsDeliverer::HttpsDeliverer(std::string name, const config::HttpsSinkConfig& cfg,
                               boost::asio::io_context& io, bool allow_plain_http,
                               net::ClockSkewEstimator* clock_skew)
    : name_(std::move(name)), cfg_(cfg), clock_skew_(clock_skew) {
  net::HttpClientOptions o;
  o.default_timeout = cfg.timeout;
  o.allow_plain_http = allow_plain_http;
  o.ca_file = cfg.ca_file;
  o.max_connections_per_host = std::max<long>(1, cfg.max_in_flight);
  o.max_total_connections = std::max<long>(1, cfg.max_in_flight);
  o.clock_skew = clock_skew;
  o.clock_authoritative = true;
  http_ = std::make_unique<net::CurlMultiClient>(io, o);
}

HttpsDeliverer::~HttpsDeliverer() {
  shutdown();
}

int64_t HttpsDeliverer::hold_for_ms(std::string_view json, int64_t true_ms) {
  const std::optional<int64_t> time = event_time_ms(json);
  if (!time) return 0;  // not ours to judge: the peer answers 400 and it is dead-lettered
  const int64_t latest = true_ms + net::kIngestMaxFutureMs - kHoldMarginMs;
  return std::max<int64_t>(0, *time - latest);
}

// [loop] Whether `record` must wait: DeliveryResult::held with when to look again, or nullopt.
std::optional<DeliveryResult> HttpsDeliverer::hold(const store::OutboxRecord& record) {
  if (!clock_skew_) return std::nullopt;
  const int64_t wall = unix_ms();
  const int64_t steady = net::ClockSkewEstimator::steady_now_ms();
  const std::optional<int64_t> skew = clock_skew_->skew_ms(wall, steady);
  if (!skew && probes_ < kProbes) {
    // Nothing known of our clock yet (just started, no answer seen): an event stamped by a wall
    // clock that is far ahead would be pruned, so ask the peer's time first. A few ms at start.
    probe_time();
    DeliveryResult held;
    held.kind = DeliveryResult::Kind::held;
    held.detail = "asking the peer for its time (Date) before the first delivery";
    held.retry_after = std::chrono::milliseconds(200);
    return held;
  }
  const int64_t wait = hold_for_ms(record.json, wall - skew.value_or(0));
  if (wait == 0) return std::nullopt;
  DeliveryResult held;
  held.kind = DeliveryResult::Kind::held;
  held.detail = "its time is " +
                std::to_string((wait + net::kIngestMaxFutureMs - kHoldMarginMs) / 1000) +
                " s ahead of true time (local clock skew " +
                std::to_string(skew.value_or(0) / 1000) + " s); the ingest would prune it";
  held.retry_after = std::chrono::milliseconds(std::min(wait + 100, kMaxHoldRecheckMs));
  return held;
}

// [loop] GET on the ingest's URL, only for the Date of the answer (whatever its status): the
// client's hook feeds it to the estimator. Up to kProbes in a row; after that, deliveries go
// ahead even if the peer sends no usable Date (as before there was an estimator).
void HttpsDeliverer::probe_time() {
  if (probing_ || probes_ >= kProbes) return;
  probing_ = true;
  net::HttpRequest req;
  req.method = "GET";
  req.url = cfg_.url;
  req.timeout = cfg_.timeout;
  req.identity = {cfg_.client_cert, cfg_.client_key};
  http_->request(std::move(req), [this](net::HttpResponse&& r) {
    probing_ = false;
    ++probes_;
    if (r.error == "shutdown") return;
    const bool known =
        clock_skew_->skew_ms(unix_ms(), net::ClockSkewEstimator::steady_now_ms()).has_value();
    if (!known) probe_time();
  });
}

void HttpsDeliverer::deliver(const store::OutboxRecord& record, DeliveryDone done) {
  if (std::optional<DeliveryResult> held = hold(record)) {
    done(std::move(*held));
    return;
  }
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
