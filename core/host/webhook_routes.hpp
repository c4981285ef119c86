// WebhookRoutes: `POST /webhooks/<driver name>` → the driver's webhook(), and the driver's answer
// back to the sender, with the durability hold of driver.h:
//
//   - the driver's 2xx is sent only once every batch the signing stage had taken when the driver
//     called respond is settled and durable in the outbox (DurabilityGate::when_durable, marked
//     with SigningStage::taken() read on the driver's thread inside respond);
//   - a 2xx still held when `durable_timeout` (from the request's arrival) runs out becomes 503,
//     so the sender retries;
//   - a driver that has not answered by then gets 504 sent for it; its later respond is ignored;
//   - any other status is relayed at once; webhook() returning non-OK answers 500.
//
// A driver's respond may come from any thread, after the connection closed, after the timeout or
// after the host shut down: it carries only an id, looked up in a process-wide table under a
// lock, so a late or repeated respond finds nothing and does nothing (never a dangling pointer).
//
// Metrics, labelled driver=<instance>: oemlink_webhook_requests_total,
// oemlink_webhook_answers_total{outcome=answered_2xx|answered_other|not_durable|no_answer|
// driver_refused|shutdown|reloading}, oemlink_webhook_late_answers_total and
// oemlink_webhook_signature_failures_total (the driver answered 401/403: a webhook's only
// credential is its signature); the listener counts each route's answers by code too.
//
// Threading: everything on the loop except the respond trampoline.
#pragma once

#include "core/common/metrics.hpp"
#include "core/host/driver_set.hpp"
#include "core/host/durability_gate.hpp"
#include "core/net/inbound_http.hpp"
#include "core/net/route_table.hpp"

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

namespace oemlink::host {

class WebhookRoutes {
 public:
  // `taken` reads SigningStage::taken(); it is called from drivers' threads while this lives.
  WebhookRoutes(boost::asio::io_context& io, DurabilityGate& gate, std::function<uint64_t()> taken,
                MetricsRegistry& metrics, std::chrono::milliseconds durable_timeout);
  ~WebhookRoutes();
  WebhookRoutes(const WebhookRoutes&) = delete;
  WebhookRoutes& operator=(const WebhookRoutes&) = delete;

  static std::string path_of(std::string_view driver) { return "/webhooks/" + std::string(driver); }
  // A driver takes webhooks when it declares OEMLINK_CAP_WEBHOOK and fills webhook().
  static bool declares_webhooks(const oemlink_driver* d);
  // ...and its instance was created.
  static bool takes_webhooks(const DriverInstance& d) { return d.inst && declares_webhooks(d.d); }

  // [loop] Registers POST /webhooks/<name> for `d` when it takes webhooks; false otherwise (the
  // path then answers 404). A reload calls it again with the instance that replaces one: the
  // route then serves the new instance. `d` must outlive close().
  bool add(net::RouteTable& routes, DriverInstance& d);
  // [loop] A reload removed the driver: its path answers 404 from now on. Exchanges in flight
  // end as they would have (a late respond finds its id, never the instance).
  void remove(net::RouteTable& routes, const std::string& driver);

  // [loop] Shutdown: every webhook waiting for its driver or for durability is answered 503 now,
  // new ones get 503 without reaching a driver, later responds are ignored. No call into a driver
  // happens after this returns.
  void close();

  size_t in_flight() const { return live_.size(); }

 private:
  struct Exchange;
  struct Counters;
  struct Door;

  static void OEMLINK_CALL respond_trampoline(void* ctx, const oemlink_http_response* resp);
  void handle(const std::string& driver, Counters& counters, net::InboundRequest&& req,
              net::ResponderPtr out);
  void answered(uint64_t id, net::InboundResponse response, uint64_t mark);
  void released(uint64_t id);
  void timed_out(uint64_t id);
  void finish(uint64_t id, net::InboundResponse response);

  boost::asio::io_context& io_;
  DurabilityGate& gate_;
  MetricsRegistry& metrics_;
  std::chrono::milliseconds durable_timeout_;
  std::shared_ptr<Door> door_;
  std::unordered_map<std::string, std::unique_ptr<Counters>> counters_;
  std::unordered_map<std::string, DriverInstance*> targets_;  // by driver name
  std::unordered_map<uint64_t, std::shared_ptr<Exchange>> live_;
  bool closed_ = false;
};

}  // namespace oemlink::host
