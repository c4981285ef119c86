#include "core/host/webhook_routes.hpp"

#include "core/common/abi_text.hpp"
#include "core/common/log_fields.hpp"
#include "core/host/driver_call_frame.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <cstddef>
#include <mutex>
#include <vector>

namespace oemlink::host {

// What a driver's respond reaches: the loop and the owner, while the owner is open.
struct WebhookRoutes::Door {
  std::mutex mu;
  bool open = true;  // written on the loop under `mu`
  boost::asio::io_context* io = nullptr;
  std::function<uint64_t()> taken;
  WebhookRoutes* owner = nullptr;
};

struct WebhookRoutes::Counters {
  Counters(MetricsRegistry& m, const std::string& driver)
      : requests(m.counter("oemlink_webhook_requests_total", "Webhook deliveries received",
                           {{"driver", driver}})),
        answered_2xx(outcome(m, driver, "answered_2xx")),
        answered_other(outcome(m, driver, "answered_other")),
        not_durable(outcome(m, driver, "not_durable")),
        no_answer(outcome(m, driver, "no_answer")),
        driver_refused(outcome(m, driver, "driver_refused")),
        shutdown(outcome(m, driver, "shutdown")),
        reloading(outcome(m, driver, "reloading")),
        late_answers(m.counter("oemlink_webhook_late_answers_total",
                               "Driver answers that came after the exchange had timed out",
                               {{"driver", driver}})),
        signature_failures(m.counter(
            "oemlink_webhook_signature_failures_total",
            "Webhooks the driver refused as unauthenticated (401/403: signature missing or wrong)",
            {{"driver", driver}})) {}
  static Counter& outcome(MetricsRegistry& m, const std::string& driver, const char* outcome) {
    return m.counter("oemlink_webhook_answers_total",
                     "Webhook exchanges by how they ended (answered_2xx once durable, "
                     "answered_other, not_durable, no_answer, driver_refused, shutdown, "
                     "reloading)",
                     {{"driver", driver}, {"outcome", outcome}});
  }
  Counter& requests;
  Counter& answered_2xx;
  Counter& answered_other;
  Counter& not_durable;
  Counter& no_answer;
  Counter& driver_refused;
  Counter& shutdown;
  Counter& reloading;
  Counter& late_answers;
  Counter& signature_failures;
};

struct WebhookRoutes::Exchange {
  Exchange(boost::asio::io_context& io, net::ResponderPtr o, Counters& c, DriverInstance& d)
      : out(std::move(o)), counters(c), deadline(io), lease(d) {}
  net::ResponderPtr out;
  Counters& counters;
  boost::asio::steady_timer deadline;
  bool held = false;  // the driver answered 2xx; waiting for durability
  net::InboundResponse response;
  // The driver may still be working on it: a reload destroys a retired instance only once no
  // exchange holds it.
  DriverLease lease;
};

namespace {

// Exchanges a driver may still answer, by id, process-wide: the one thing a respond touches
// before it knows whether its host still exists. Never destroyed, so a driver thread that answers
// while the process exits finds it.
class RespondTable {
 public:
  template <class T>
  void put(uint64_t id, std::shared_ptr<T> door) {
    std::lock_guard lock(mu_);
    doors_.emplace(id, std::move(door));
  }
  // The door of `id`, removed: only the first respond (or timeout) gets it.
  std::shared_ptr<void> take(uint64_t id) {
    std::lock_guard lock(mu_);
    auto it = doors_.find(id);
    if (it == doors_.end()) return nullptr;
    std::shared_ptr<void> door = std::move(it->second);
    doors_.erase(it);
    return door;
  }

 private:
  std::mutex mu_;
  std::unordered_map<uint64_t, std::shared_ptr<void>> doors_;
};

RespondTable& respond_table() {
  static auto* table = new RespondTable;
  return *table;
}

std::atomic<uint64_t> g_next_id{0};

net::InboundResponse text(int status, std::string body, bool retry_after = false) {
  net::InboundResponse r;
  r.status = status;
  if (retry_after) r.headers.emplace_back("Retry-After", "5");
  r.body = std::move(body);
  return r;
}

// A route's name is [a-z0-9_]+ (net::RouteTable); a driver's may hold '-'. Only the listener's
// `route` label uses this; the webhook series carry the driver's name as configured, like every
// other series labelled by driver.
std::string route_name(std::string_view driver) {
  std::string out("webhook_");
  out += driver;
  for (char& c : out)
    if (c == '-') c = '_';
  return out;
}

}  // namespace

// [any-thread] The driver's answer. Copies it (its views die with this call), reads the signing
// stage's mark here, on the driver's thread, after its emits, and hands both to the loop.
void OEMLINK_CALL WebhookRoutes::respond_trampoline(void* ctx, const oemlink_http_response* resp) {
  const auto id = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(ctx));
  auto door = std::static_pointer_cast<Door>(respond_table().take(id));
  if (!door) return;  // answered already, timed out, or the host is gone
  net::InboundResponse r;
  constexpr size_t kV1Size = offsetof(oemlink_http_response, error) + sizeof(oemlink_str);
  if (resp && resp->struct_size >= kV1Size && (resp->header_count == 0 || resp->headers)) {
    r.status = resp->http_status;
    for (size_t i = 0; i < resp->header_count; ++i)
      r.headers.emplace_back(std::string(abi_view(resp->headers[i].name)),
                             std::string(abi_view(resp->headers[i].value)));
    r.body = std::string(abi_view(resp->body));
  } else {
    r = text(500, "the driver's answer was malformed\n");
  }
  std::lock_guard lock(door->mu);
  if (!door->open) return;
  const uint64_t mark = door->taken();
  boost::asio::post(*door->io, [door, id, r = std::move(r), mark]() mutable {
    if (door->open) door->owner->answered(id, std::move(r), mark);
  });
}

WebhookRoutes::WebhookRoutes(boost::asio::io_context& io, DurabilityGate& gate,
                             std::function<uint64_t()> taken, MetricsRegistry& metrics,
                             std::chrono::milliseconds durable_timeout)
    : io_(io),
      gate_(gate),
      metrics_(metrics),
      durable_timeout_(durable_timeout),
      door_(std::make_shared<Door>()) {
  door_->io = &io;
  door_->taken = std::move(taken);
  door_->owner = this;
}

WebhookRoutes::~WebhookRoutes() {
  close();
}

bool WebhookRoutes::declares_webhooks(const oemlink_driver* d) {
  return d && (d->capabilities & OEMLINK_CAP_WEBHOOK) &&
         OEMLINK_HAS_FIELD(d, oemlink_driver, webhook) && d->webhook;
}

bool WebhookRoutes::add(net::RouteTable& routes, DriverInstance& d) {
  if (!takes_webhooks(d)) {
    remove(routes, d.name);  // a reload may have replaced a driver that took them
    return false;
  }
  auto& slot = counters_[d.name];
  if (!slot) slot = std::make_unique<Counters>(metrics_, d.name);
  Counters& counters = *slot;
  // The route names the driver, not an instance: a reload that replaces the instance only
  // repoints it, and a delivery in between never finds a destroyed one.
  auto [it, fresh] = targets_.insert_or_assign(d.name, &d);
  if (fresh)
    routes.add("POST", path_of(d.name), route_name(d.name),
               [this, name = d.name, &counters](net::InboundRequest&& req, net::ResponderPtr out) {
                 handle(name, counters, std::move(req), std::move(out));
               });
  return true;
}

void WebhookRoutes::remove(net::RouteTable& routes, const std::string& driver) {
  if (targets_.erase(driver)) routes.remove("POST", path_of(driver));
}

void WebhookRoutes::handle(const std::string& driver, Counters& counters, net::InboundRequest&& req,
                           net::ResponderPtr out) {
  counters.requests.add();
  if (closed_) {
    counters.shutdown.add();
    out->respond(text(503, "shutting down; retry later\n", true));
    return;
  }
  auto target = targets_.find(driver);
  if (target == targets_.end() || target->second->webhooks_held) {
    // Its instance is being replaced: the connections it would look the delivery up in are
    // moving to the new one. The sender retries; nothing is dropped.
    counters.reloading.add();
    out->respond(text(503, "driver " + driver + " is being reloaded; retry later\n", true));
    return;
  }
  DriverInstance& d = *target->second;
  const uint64_t id = ++g_next_id;
  auto ex = std::make_shared<Exchange>(io_, std::move(out), counters, d);
  live_.emplace(id, ex);
  respond_table().put(id, door_);
  // The sender's clock started when it sent: the whole exchange, driver and durability, must fit.
  ex->deadline.expires_after(durable_timeout_);
  ex->deadline.async_wait([door = door_, id](const boost::system::error_code& ec) {
    if (!ec && door->open) door->owner->timed_out(id);
  });

  std::vector<oemlink_http_header> headers;
  headers.reserve(req.headers.size());
  for (auto& [k, v] : req.headers) headers.push_back({abi_str(k), abi_str(v)});
  oemlink_http_request r{};
  r.struct_size = sizeof r;
  r.method = abi_str(req.method);
  r.url = abi_str(req.target);
  r.headers = headers.data();
  r.header_count = headers.size();
  r.body = abi_str(req.body);
  // The driver's lines about this delivery (a bad signature, an unknown car) name the route.
  const std::string route = path_of(d.name);
  LogScope in_call(LogFields{.driver = d.name, .route = route, .listener = "inbound"});
  oemlink_status st = call_driver(d, "webhook", {}, [&] {
    return d.d->webhook(d.inst, &r, &respond_trampoline, reinterpret_cast<void*>(id));
  });
  // Non-OK means respond will not come; if it came anyway, that answer stands.
  if (st != OEMLINK_OK && respond_table().take(id)) {
    counters.driver_refused.add();
    finish(id, text(500, "the driver did not take the webhook\n"));
  }
}

void WebhookRoutes::answered(uint64_t id, net::InboundResponse response, uint64_t mark) {
  auto it = live_.find(id);
  if (it == live_.end()) return;  // the timeout answered first
  Exchange& ex = *it->second;
  if (response.status < 200 || response.status > 599) {
    response = text(500, "the driver answered an invalid status\n");
  } else if (response.status < 300) {
    ex.held = true;
    ex.response = std::move(response);
    gate_.when_durable(mark, [door = door_, id] {
      if (door->open) door->owner->released(id);
    });
    return;
  }
  ex.counters.answered_other.add();
  if (response.status == 401 || response.status == 403) ex.counters.signature_failures.add();
  finish(id, std::move(response));
}

void WebhookRoutes::released(uint64_t id) {
  auto it = live_.find(id);
  if (it == live_.end()) return;  // 503 went out already
  it->second->counters.answered_2xx.add();
  finish(id, std::move(it->second->response));
}

void WebhookRoutes::timed_out(uint64_t id) {
  auto it = live_.find(id);
  if (it == live_.end()) return;
  Exchange& ex = *it->second;
  if (ex.held) {
    ex.counters.not_durable.add();
    finish(id, text(503, "not durable in time; retry later\n", true));
    return;
  }
  // A respond taken already is on its way to the loop; it will find no exchange.
  if (!respond_table().take(id)) ex.counters.late_answers.add();
  ex.counters.no_answer.add();
  finish(id, text(504, "the driver did not answer in time\n"));
}

void WebhookRoutes::finish(uint64_t id, net::InboundResponse response) {
  auto it = live_.find(id);
  if (it == live_.end()) return;
  std::shared_ptr<Exchange> ex = std::move(it->second);
  live_.erase(it);
  ex->deadline.cancel();
  ex->out->respond(std::move(response));
}

void WebhookRoutes::close() {
  if (closed_) return;
  closed_ = true;
  {
    std::lock_guard lock(door_->mu);
    door_->open = false;
  }
  for (auto& [id, ex] : live_) {
    respond_table().take(id);
    ex->counters.shutdown.add();
    ex->deadline.cancel();
    ex->out->respond(text(503, "shutting down; retry later\n", true));
  }
  live_.clear();
}

}  // namespace oemlink::host
