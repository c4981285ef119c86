// DIMO's ingest node as an outbox sink: POST / with one CloudEvent over mutual TLS, through the
// host's curl-multi client on the event loop (keep-alive, many requests in flight).
//
// Holding: DIS prunes an event stamped more than 5 minutes ahead of its clock, and answers 200.
// An event whose `time` is that far ahead of true time (our wall clock corrected by the
// ClockSkewEstimator, which every answer's Date header feeds) is not sent but held in the
// outbox (DeliveryResult::held) until true time has caught up; nothing is lost, and the
// connection's later events wait behind it, in order.
//
// What the peer's answers mean: classify_https_response() (https_response_classification.hpp).
#pragma once

#include "core/config/config.hpp"
#include "core/net/clock_skew_estimator.hpp"
#include "core/net/http_client.hpp"
#include "core/uplink/event_deliverer.hpp"

#include <boost/asio/io_context.hpp>

#include <memory>
#include <optional>

namespace oemlink::uplink {

class HttpsDeliverer final : public EventDeliverer {
 public:
  // `allow_plain_http` lets tests point at http:// mocks; production URLs are https://.
  // `clock_skew` (borrowed, may be null) learns from every answer and decides what is held.
  HttpsDeliverer(std::string name, const config::HttpsSinkConfig& cfg, boost::asio::io_context& io,
                 bool allow_plain_http, net::ClockSkewEstimator* clock_skew = nullptr);

  // Margin kept below the ingest's 5 minutes: the peer's clock and the network's delay.
  static constexpr int64_t kHoldMarginMs = 5'000;
  // A held event is looked at again at least this often (the estimate may move meanwhile).
  static constexpr int64_t kMaxHoldRecheckMs = 30'000;
  // How long `json` must still be held when true time is `true_ms`; 0: send it now.
  static int64_t hold_for_ms(std::string_view json, int64_t true_ms);
  ~HttpsDeliverer() override;
  std::string_view name() const override { return name_; }
  size_t max_in_flight() const override { return cfg_.max_in_flight; }
  void deliver(const store::OutboxRecord& record, DeliveryDone done) override;
  void shutdown() override;

 private:
  std::string name_;
  config::HttpsSinkConfig cfg_;
  std::optional<DeliveryResult> hold(const store::OutboxRecord& record);
  void probe_time();

  // Answers asked for at start, for their Date, before the first delivery (3 make an estimate).
  static constexpr int kProbes = 3;

  net::ClockSkewEstimator* clock_skew_;
  bool probing_ = false;  // [loop]
  int probes_ = 0;        // [loop] probes answered (or failed)
  std::unique_ptr<net::CurlMultiClient> http_;
};

}  // namespace oemlink::uplink
