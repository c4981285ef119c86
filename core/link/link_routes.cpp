#include "core/link/link_routes.hpp"

#include "core/host/driver_set.hpp"
#include "core/link/link_answers.hpp"
#include "core/link/link_in_flight.hpp"
#include "core/net/route_table.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace oemlink::link {

LinkRoutes::LinkRoutes(boost::asio::io_context& io, LinkOptions options, MetricsRegistry& metrics,
                       const host::HostClock& clock, host::DriverSet& drivers,
                       host::ConnectionControl& connections, std::unique_ptr<MintSource> mint)
    : io_(io),
      options_(std::move(options)),
      metrics_(metrics),
      clock_(clock),
      connections_(connections),
      mint_(std::move(mint)),
      sessions_(options_.state_ttl, options_.max_pending),
      grants_(options_.grant_ttl, options_.max_pending),
      door_(std::make_shared<Door>()),
      starts_(
          metrics.counter("oemlink_link_starts_total", "Link flows started (consent redirects)")),
      created_(metrics.counter("oemlink_link_connections_created_total",
                               "Connections created by linking")),
      reauthorized_(metrics.counter("oemlink_link_connections_reauthorized_total",
                                    "Connections re-linked with fresh tokens")),
      mints_prepared_(metrics.counter("oemlink_link_mints_prepared_total",
                                      "Mint requests prepared for the minting service")),
      mints_stored_(metrics.counter("oemlink_link_mints_stored_total", "Mint requests stored")),
      refusal_log_(10, metrics) {
  door_->io = &io_;
  door_->owner = this;
  refresh_drivers(drivers);
}

void LinkRoutes::refresh_drivers(host::DriverSet& drivers) {
  drivers_.clear();
  for (size_t i = 0; i < drivers.size(); ++i) {
    host::DriverInstance& d = drivers[i];
    if (d.retired) continue;
    if (const oemlink_link_extension* ext = DriverLinker::extension_of(d))
      drivers_.emplace(d.name, Linkable{&d, ext});
  }
}

LinkRoutes::~LinkRoutes() {
  close();
}

std::vector<std::string> LinkRoutes::linkable() const {
  std::vector<std::string> names;
  for (const auto& [name, l] : drivers_) names.push_back(name);
  return names;
}

void LinkRoutes::add_to(net::RouteTable& routes) {
  auto handler = [this](net::InboundRequest&& req, net::ResponderPtr out) {
    handle(std::move(req), std::move(out));
  };
  routes.add("GET", "/link/*", "link", handler);
  routes.add("POST", "/link/*", "link", handler);
}

void LinkRoutes::handle(net::InboundRequest&& req, net::ResponderPtr out) {
  const bool html = prefers_html(req.header("Accept"));
  // /link/<driver>/<step>
  std::string_view rest = std::string_view(req.path).substr(std::string_view("/link/").size());
  size_t slash = rest.find('/');
  std::string driver(rest.substr(0, slash));
  std::string_view step =
      slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
  if (!accepting_) {
    refuse(out, html, driver, 503, "shutting_down", "oemlink is shutting down; try again shortly");
    return;
  }
  auto it = drivers_.find(driver);
  if (it == drivers_.end()) {
    refuse(out, html, driver, 404, "no_driver",
           "driver " + sanitised(driver) + " cannot link cars");
    return;
  }
  const bool get = req.method == "GET";
  if (step == "start" && get) {
    start(driver, it->second, req, std::move(out), html);
  } else if (step == "callback" && get) {
    callback(driver, it->second, req, std::move(out), html);
  } else if (step == "mint" && req.method == "POST") {
    mint(driver, req, std::move(out));
  } else if (step == "start" || step == "callback" || step == "mint") {
    net::InboundResponse r = error_answer(405, "method not allowed here", html);
    r.headers.emplace_back("Allow", step == "mint" ? "POST" : "GET");
    out->respond(std::move(r));
  } else {
    refuse(out, html, driver, 404, "not_found",
           "no such linking step; use /link/" + sanitised(driver) + "/start");
  }
}

void LinkRoutes::refuse(const net::ResponderPtr& out, bool html, const std::string& driver,
                        int status, std::string_view reason, std::string_view message,
                        boost::json::object extra) {
  metrics_
      .counter("oemlink_link_refused_total", "Link flow requests refused, by reason",
               {{"reason", std::string(reason)}})
      .add();
  // The message may carry what a request sent (an owner, a make): one printable line in the log.
  refusal_log_.log(clock_.wall_ms(), spdlog::level::info, LogFields{.listener = "inbound"},
                   "link: driver {}: refused ({}): {}", sanitised(driver), reason,
                   sanitised(message));
  out->respond(error_answer(status, message, html, std::move(extra)));
}

void LinkRoutes::refuse_link(uint64_t id, int status, std::string_view reason,
                             std::string_view message, boost::json::object extra) {
  auto it = live_.find(id);
  if (it == live_.end()) return;
  std::unique_ptr<Link> link = std::move(it->second);
  live_.erase(it);
  link->deadline.cancel();
  refuse(link->out, link->html, link->driver, status, reason, message, std::move(extra));
}

void LinkRoutes::timed_out(uint64_t id) {
  auto it = live_.find(id);
  if (it == live_.end() || it->second->storing) return;
  refuse_link(id, 504, "driver_timeout", "the maker did not answer in time; start linking again");
}

void LinkRoutes::stop_accepting() {
  accepting_ = false;
  std::vector<uint64_t> waiting;
  for (auto& [id, link] : live_)
    if (!link->storing) waiting.push_back(id);
  for (uint64_t id : waiting)
    refuse_link(id, 503, "shutting_down", "oemlink is shutting down; start linking again shortly");
}

void LinkRoutes::close() {
  {
    std::lock_guard lock(door_->mu);
    if (!door_->open) return;
    door_->open = false;
    door_->owner = nullptr;
  }
  accepting_ = false;
  std::vector<uint64_t> left;
  for (auto& [id, link] : live_) left.push_back(id);
  for (uint64_t id : left)
    refuse_link(id, 503, "shutting_down", "oemlink is shutting down; start linking again shortly");
}

template <class Outcome>
std::function<void(Outcome)> LinkRoutes::on_loop(uint64_t id,
                                                 void (LinkRoutes::*step)(uint64_t, Outcome)) {
  return [door = door_, id, step](Outcome outcome) {
    std::lock_guard lock(door->mu);
    if (!door->open) return;  // the outcome (and any secret in it) is wiped as it goes
    boost::asio::post(*door->io, [door, id, step, outcome = std::move(outcome)]() mutable {
      LinkRoutes* owner;
      {
        std::lock_guard lock(door->mu);
        if (!door->open) return;
        owner = door->owner;
      }
      (owner->*step)(id, std::move(outcome));
    });
  };
}

template std::function<void(ExchangeOutcome)> LinkRoutes::on_loop(
    uint64_t, void (LinkRoutes::*)(uint64_t, ExchangeOutcome));
template std::function<void(VehiclesOutcome)> LinkRoutes::on_loop(
    uint64_t, void (LinkRoutes::*)(uint64_t, VehiclesOutcome));

host::ControlDone LinkRoutes::control_done(uint64_t id, boost::json::array refused) {
  return [door = door_, id, refused = std::move(refused)](host::ControlResult result) mutable {
    LinkRoutes* owner;
    {
      std::lock_guard lock(door->mu);
      if (!door->open) return;
      owner = door->owner;
    }
    owner->stored(id, std::move(result), std::move(refused));
  };
}

std::string LinkRoutes::redirect_uri(std::string_view driver) const {
  return options_.public_url + "/link/" + std::string(driver) + "/callback";
}

std::string LinkRoutes::cookie_path(std::string_view driver) const {
  // The browser sees public_url's path (a proxy may strip it before us): the cookie goes there.
  std::string_view url = options_.public_url;
  size_t scheme = url.find("://");
  size_t path =
      scheme == std::string_view::npos ? std::string_view::npos : url.find('/', scheme + 3);
  std::string prefix = path == std::string_view::npos ? "" : std::string(url.substr(path));
  return prefix + "/link/" + std::string(driver) + "/";
}

boost::json::object LinkRoutes::connection_json(const host::ConnectionView& c,
                                                const LinkedVehicle* v, const std::string& owner) {
  boost::json::object o;
  o["connection_id"] = c.id;
  o["vehicle_id"] = c.vehicle_id;
  o["vin"] = c.vin;
  o["display_name"] = c.display_name;
  o["device_address"] = c.device_address;
  o["key_child"] = c.key_child;
  o["state"] = host::state_name(c.state);
  if (owner.empty()) {
    o["mint"] = nullptr;
    return o;
  }
  MintFields in;
  in.owner = owner;
  in.vehicle_token_id = c.vehicle_token_id;
  if (v) {
    in.make = v->make;
    in.model = v->model;
    in.year = v->year;
    if (auto node = options_.manufacturer_nodes.find(v->make);
        node != options_.manufacturer_nodes.end())
      in.manufacturer_node = node->second;
  }
  MintAnswer a = mint_->prepare(c, in);
  boost::system::error_code ec;
  boost::json::value request = a.ok ? boost::json::parse(a.text, ec) : boost::json::value();
  if (a.ok && !ec) {
    o["mint"] = std::move(request);
    mints_prepared_.add();
  } else {
    o["mint"] = boost::json::object{{"error", a.ok ? "the mint request is not JSON" : a.text}};
  }
  return o;
}

}  // namespace oemlink::link
