#include "core/admin/admin_routes.hpp"

#include "core/admin/connection_json.hpp"
#include "core/admin/request_body.hpp"
#include "core/admin/request_target.hpp"
#include "core/common/secure_wipe.hpp"
#include "core/common/wall_clock.hpp"
#include "core/config/scalars.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>
#include <boost/json/serialize.hpp>

#include <utility>

namespace oemlink::admin {
namespace {

namespace json = boost::json;

constexpr std::string_view kCollection = "/admin/connections";
constexpr std::string_view kItemPrefix = "/admin/connections/";
constexpr size_t kDefaultLimit = 100, kMaxLimit = 1000;
// Above these, an add's body is read and its answer written on the worker thread.
constexpr size_t kInlineBody = 64 * 1024, kInlineViews = 200;

void answer(const net::ResponderPtr& out, int status, std::string body,
            net::HeaderList extra = {}) {
  net::HeaderList headers{{"Content-Type", "application/json"}, {"Cache-Control", "no-store"}};
  for (auto& h : extra) headers.push_back(std::move(h));
  out->respond({status, std::move(headers), std::move(body)});
}

void answer_error(const net::ResponderPtr& out, int status, std::string_view message) {
  answer(out, status, error_body(message));
}

const char* kActionUsage =
    "POST /admin/connections/<id>/<pause|resume|revoke|poll|tokens> (the id percent-encoded)";

// The answer of an action on one connection: its view as it is now. Called by the control, so
// the control is alive when `control` is read.
host::ControlDone answer_action(net::ResponderPtr out, const host::ConnectionControl* control,
                                std::string verb, std::string id, std::string who) {
  return [out = std::move(out), control, verb = std::move(verb), id = std::move(id),
          who = std::move(who)](host::ControlResult r) {
    if (!r.ok()) return answer_error(out, host::http_status_of(r.error), r.message);
    spdlog::info("admin: {} {} by {}", verb, id, who);
    std::optional<host::ConnectionView> view;
    if (!r.connections.empty()) view = std::move(r.connections.front());
    if (!view) view = control->find(id);
    if (!view) return answer(out, 200, json::serialize(json::object{{"id", id}}));
    answer(out, 200, json::serialize(view_json(*view, /*with_mint=*/true)));
  };
}

}  // namespace

AdminRoutes::AdminRoutes(boost::asio::io_context& io, host::ConnectionControl& control,
                         AdminAuth auth, MetricsRegistry& metrics)
    : io_(io),
      control_(control),
      auth_(std::move(auth)),
      metrics_(metrics),
      auth_failures_(metrics.counter("oemlink_admin_auth_failures_total",
                                     "Admin API requests refused as unauthenticated (401)")),
      requests_(metrics.counter("oemlink_admin_requests_total", "Admin API requests served")),
      refusal_log_(5, metrics) {}

AdminRoutes::~AdminRoutes() {
  *alive_ = false;
  pool_.join();  // a body being read finishes; what it posts back finds alive_ false
}

void AdminRoutes::add_to(net::RouteTable& routes) {
  routes.add("GET", std::string(kCollection), "list", guarded(&AdminRoutes::list));
  routes.add("POST", std::string(kCollection), "add", guarded(&AdminRoutes::add));
  routes.add("GET", std::string(kItemPrefix) + "counts", "counts", guarded(&AdminRoutes::counts));
  routes.add("GET", std::string(kItemPrefix) + "*", "show", guarded(&AdminRoutes::show));
  routes.add("POST", std::string(kItemPrefix) + "*", "action", guarded(&AdminRoutes::action));
}

bool AdminRoutes::authenticated(const net::InboundRequest& req) const {
  if (auth_.client_certificates && req.client_verified) return true;
  return auth_.token.accepts(req.header("Authorization"));
}

std::string AdminRoutes::who(const net::InboundRequest& req) {
  return req.peer +
         (req.client_verified ? " (certificate " + req.client_subject + ")" : " (token)");
}

net::RouteHandler AdminRoutes::guarded(Handler handler) {
  return [this, handler](net::InboundRequest&& req, net::ResponderPtr out) {
    if (!accepting_) return answer_error(out, 503, "shutting down");
    if (!authenticated(req)) {
      auth_failures_.add();
      secure_wipe(req.body);  // an add carries OAuth secrets, refused or not
      const bool presented = !req.header("Authorization").empty();
      // Neither the token nor the path is logged: a token pasted into a URL would land there.
      refusal_log_.log(unix_ms(), spdlog::level::warn, LogFields{.listener = "admin"},
                       "admin: refused {} from {}: {}", req.method, req.peer,
                       presented ? "wrong credentials" : "no credentials");
      return answer(out, 401,
                    error_body(presented ? "the bearer token is not the admin token"
                                         : "authentication required: Authorization: Bearer "
                                           "<listeners.admin.token> or a client certificate"),
                    {{"WWW-Authenticate", "Bearer realm=\"oemlink-admin\""}});
    }
    requests_.add();
    (this->*handler)(req, out, who(req));
  };
}

void AdminRoutes::list(net::InboundRequest& req, const net::ResponderPtr& out, const std::string&) {
  auto query = query_parameters(req.target);
  if (!query) return answer_error(out, 400, "query: not valid percent-encoding");
  std::string after;
  size_t limit = kDefaultLimit;
  std::optional<host::ConnectionState> state;
  for (const auto& [name, value] : *query) {
    if (name == "after") {
      after = value;
    } else if (name == "limit") {
      auto n = config::parse_uint64(value).value;
      if (!n || *n < 1 || *n > kMaxLimit)
        return answer_error(out, 400, "limit: must be an integer from 1 to 1000");
      limit = static_cast<size_t>(*n);
    } else if (name == "state") {
      state = host::parse_state(value);
      if (!state)
        return answer_error(out, 400,
                            "state: must be one of linking, active, paused, needs_reauth, revoked");
    } else {
      return answer_error(out, 400,
                          name + ": unknown query parameter (valid: after, limit, state)");
    }
  }
  host::ConnectionPage page = control_.list(after, limit, state);
  json::array items;
  items.reserve(page.items.size());
  for (const auto& v : page.items) items.push_back(view_json(v));
  json::object body;
  body["connections"] = std::move(items);
  body["next_after"] =
      page.next_after.empty() ? json::value(nullptr) : json::value(page.next_after);
  body["total"] = page.total;
  answer(out, 200, json::serialize(body));
}

void AdminRoutes::add(net::InboundRequest& req, const net::ResponderPtr& out,
                      const std::string& who) {
  if (req.body.size() <= kInlineBody) {
    std::vector<host::NewConnection> connections;
    std::string error;
    if (!read_add_body(req.body, connections, error)) return answer_error(out, 400, error);
    return add_parsed(std::move(connections), out, who);
  }
  // A large body (10,000 cars is ~1.4 MB) is read on the worker: tens of milliseconds the loop
  // would otherwise not poll.
  boost::asio::post(pool_, [this, alive = alive_, body = std::move(req.body), out, who]() mutable {
    auto connections = std::make_shared<std::vector<host::NewConnection>>();
    std::string error;
    const bool ok = read_add_body(body, *connections, error);
    boost::asio::post(io_, [this, alive, ok, connections, error, out, who] {
      if (!ok) return answer_error(out, 400, error);
      if (!*alive || !accepting_) return answer_error(out, 503, "shutting down");
      add_parsed(std::move(*connections), out, who);
    });
  });
}

void AdminRoutes::add_parsed(std::vector<host::NewConnection> connections,
                             const net::ResponderPtr& out, const std::string& who) {
  const size_t asked = connections.size();
  control_.add(
      std::move(connections), [this, alive = alive_, out, asked, who](host::ControlResult r) {
        if (!r.ok()) return answer_error(out, host::http_status_of(r.error), r.message);
        spdlog::info("admin: added {} of {} connections by {}", r.connections.size(), asked, who);
        auto write = [out, r = std::move(r)] {
          json::array created, refused;
          created.reserve(r.connections.size());
          for (const auto& v : r.connections) created.push_back(view_json(v));
          for (const auto& [index, reason] : r.refused)
            refused.push_back(json::object{{"index", index}, {"reason", reason}});
          answer(out, 200,
                 json::serialize(json::object{{"created", std::move(created)},
                                              {"refused", std::move(refused)}}));
        };
        // This runs on the loop, where the routes are destroyed: while they live, so does the pool.
        if (*alive && asked > kInlineViews)
          boost::asio::post(pool_, std::move(write));
        else
          write();
      });
}

void AdminRoutes::counts(net::InboundRequest&, const net::ResponderPtr& out, const std::string&) {
  answer(out, 200, json::serialize(counts_json(control_.counts())));
}

void AdminRoutes::show(net::InboundRequest& req, const net::ResponderPtr& out, const std::string&) {
  std::string_view rest = std::string_view(req.path).substr(kItemPrefix.size());
  if (rest.empty() || rest.find('/') != std::string_view::npos)
    return answer_error(out, 404, "GET /admin/connections/<id> (the id percent-encoded)");
  auto id = percent_decode(rest);
  if (!id) return answer_error(out, 400, "connection id: not valid percent-encoding");
  auto view = control_.find(*id);
  if (!view) return answer_error(out, 404, "no connection " + *id);
  answer(out, 200, json::serialize(view_json(*view, /*with_mint=*/true)));
}

void AdminRoutes::action(net::InboundRequest& req, const net::ResponderPtr& out,
                         const std::string& who) {
  std::string_view rest = std::string_view(req.path).substr(kItemPrefix.size());
  const size_t slash = rest.find('/');
  if (slash == 0 || slash == std::string_view::npos || rest.find('/', slash + 1) != rest.npos)
    return answer_error(out, 404, kActionUsage);
  auto id = percent_decode(rest.substr(0, slash));
  if (!id) return answer_error(out, 400, "connection id: not valid percent-encoding");
  const std::string verb(rest.substr(slash + 1));
  std::string error, reason;
  if (verb == "pause" || verb == "revoke") {
    if (!read_reason_body(req.body, reason, error)) return answer_error(out, 400, error);
    auto done = answer_action(out, &control_, verb, *id, who);
    if (verb == "pause") return control_.pause(*id, std::move(reason), std::move(done));
    return control_.revoke(*id, std::move(reason), std::move(done));
  }
  if (verb == "resume" || verb == "poll") {
    if (!read_empty_body(req.body, error)) return answer_error(out, 400, error);
    auto done = answer_action(out, &control_, verb, *id, who);
    if (verb == "resume") return control_.resume(*id, std::move(done));
    return control_.poll_now(*id, std::move(done));
  }
  if (verb == "tokens") {
    uint64_t vehicle = 0, synthetic = 0;
    if (!read_tokens_body(req.body, vehicle, synthetic, error))
      return answer_error(out, 400, error);
    return control_.set_tokens(*id, vehicle, synthetic,
                               answer_action(out, &control_, "set tokens of", *id, who));
  }
  answer_error(out, 404, kActionUsage);
}

}  // namespace oemlink::admin
