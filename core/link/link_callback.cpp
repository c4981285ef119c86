// GET /link/<driver>/callback?code=..&state=..  (or ?error=..&error_description=..&state=..):
// the state and cookie checked, the code exchanged, the cars listed and linked.
#include "core/link/link_routes.hpp"

#include "core/config/value_checks.hpp"
#include "core/link/http_fields.hpp"
#include "core/link/link_answers.hpp"
#include "core/link/link_in_flight.hpp"

#include <spdlog/spdlog.h>
#include <boost/json/parse.hpp>

#include <strings.h>
#include <set>

namespace oemlink::link {
namespace {

bool same_vin(std::string_view a, std::string_view b) {
  return !a.empty() && a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

boost::json::object refused_car(std::string_view vehicle_id, std::string_view vin,
                                std::string_view reason) {
  return {{"vehicle_id", vehicle_id}, {"vin", vin}, {"reason", reason}};
}

}  // namespace

void LinkRoutes::callback(const std::string& driver, Linkable& l, const net::InboundRequest& req,
                          net::ResponderPtr out, bool html) {
  auto params = query_params(req.target);
  if (!params) {
    refuse(out, html, driver, 400, "bad_request", "the callback's query is not valid URL encoding");
    return;
  }
  auto param = [&](std::string_view name) -> std::string {
    auto it = params->find(name);
    return it == params->end() ? std::string() : it->second;
  };
  const std::string state = param("state");
  if (state.empty()) {
    refuse(out, html, driver, 400, "unknown_state",
           "the callback carries no link state; start linking again");
    return;
  }
  const std::string cookie(cookie_value(req.header("Cookie"), "oemlink_link_" + driver));
  LinkSessions::Taken taken = sessions_.take(driver, state, cookie, clock_.steady_ms());
  switch (taken.verdict) {
    case LinkSessions::Verdict::unknown:
      refuse(out, html, driver, 400, "unknown_state",
             "unknown or already used link state; start again");
      return;
    case LinkSessions::Verdict::expired:
      refuse(out, html, driver, 400, "expired_state",
             "this link expired (after " + std::to_string(sessions_.ttl().count() / 1000) +
                 " s); start again");
      return;
    case LinkSessions::Verdict::wrong_browser:
      refuse(out, html, driver, 400, "wrong_browser",
             "this link was started in another browser; start again in this one");
      return;
    case LinkSessions::Verdict::ok:
      break;
  }
  PendingLink pending = std::move(*taken.link);
  if (const std::string error = param("error"); !error.empty()) {
    std::string why = param("error_description");
    refuse(out, html, driver, 400, "denied",
           "consent was denied at " + driver + ": " + sanitised(why.empty() ? error : why));
    return;
  }
  const std::string code = param("code");
  if (code.empty()) {
    refuse(out, html, driver, 400, "bad_request", "the callback carries no authorization code");
    return;
  }

  auto link = std::make_unique<Link>(io_);
  const uint64_t id = next_id_++;
  link->id = id;
  link->out = std::move(out);
  link->html = html;
  link->driver = driver;
  link->linkable = l;
  link->lease = host::DriverLease(*l.instance);
  link->request = pending.request();
  link->redirect_uri = redirect_uri(driver);
  link->deadline.expires_after(options_.driver_timeout);
  link->deadline.async_wait([door = door_, id](const boost::system::error_code& ec) {
    if (ec || !door->open) return;
    door->owner->timed_out(id);
  });
  Link& ref = *link;
  live_.emplace(id, std::move(link));
  DriverLinker linker(*l.instance, *l.ext);
  if (!linker.exchange_code(code, raw_query(req.target), ref.redirect_uri, pending.verifier(),
                            on_loop(id, &LinkRoutes::exchanged))) {
    refuse_link(id, 502, "exchange_failed",
                "driver " + driver + " could not start the code exchange; start again");
  }
}

void LinkRoutes::exchanged(uint64_t id, ExchangeOutcome outcome) {
  auto it = live_.find(id);
  if (it == live_.end()) return;
  Link& link = *it->second;
  if (outcome.status != OEMLINK_OK) {
    const bool unreachable = outcome.status == OEMLINK_RETRY;
    refuse_link(id, unreachable ? 502 : 400, "exchange_failed",
                (unreachable ? "could not reach " + link.driver + " to exchange the code: "
                             : link.driver + " refused the authorization code: ") +
                    sanitised(outcome.message) + "; start again");
    return;
  }
  if (outcome.secrets.empty()) {
    refuse_link(id, 502, "exchange_failed",
                "driver " + link.driver + " exchanged the code but handed over no tokens");
    return;
  }
  link.secrets = std::move(outcome.secrets);
  DriverLinker linker(*link.linkable.instance, *link.linkable.ext);
  if (!linker.list_vehicles(link.secrets, on_loop(id, &LinkRoutes::listed)))
    refuse_link(id, 502, "list_failed",
                "driver " + link.driver + " could not start listing the account's cars");
}

void LinkRoutes::listed(uint64_t id, VehiclesOutcome outcome) {
  auto it = live_.find(id);
  if (it == live_.end()) return;
  Link& link = *it->second;
  if (outcome.status != OEMLINK_OK) {
    refuse_link(id, 502, "list_failed",
                "could not list the cars of this account at " + link.driver + ": " +
                    sanitised(outcome.message));
    return;
  }
  std::vector<LinkedVehicle> vehicles = std::move(outcome.vehicles);
  boost::json::array refused;
  if (!link.request.vehicles.empty()) {
    auto picked = [&](const LinkedVehicle& v, const std::string& want) {
      return v.vehicle_id == want || same_vin(v.vin, want);
    };
    for (const std::string& want : link.request.vehicles) {
      bool found = false;
      for (const LinkedVehicle& v : vehicles) found = found || picked(v, want);
      if (!found) {
        const bool vin = want.size() == 17;
        refused.push_back(refused_car(vin ? "" : want, vin ? want : "",
                                      "not among the cars this consent covers"));
      }
    }
    std::erase_if(vehicles, [&](const LinkedVehicle& v) {
      for (const std::string& want : link.request.vehicles)
        if (picked(v, want)) return false;
      return true;
    });
  }
  if (!link.request.reauth_connection.empty())
    reauthorize(link, std::move(vehicles));
  else
    add_connections(link, std::move(vehicles), std::move(refused));
}

void LinkRoutes::reauthorize(Link& link, std::vector<LinkedVehicle> vehicles) {
  const std::string& cid = link.request.reauth_connection;
  std::optional<host::ConnectionView> c = connections_.find(cid);
  if (!c || c->state == host::ConnectionState::revoked) {
    refuse_link(link.id, 409, "revoked",
                "connection " + cid + " was revoked or removed while its owner consented");
    return;
  }
  if (c->state == host::ConnectionState::paused) {
    refuse_link(link.id, 409, "paused",
                "connection " + cid +
                    " was paused by its operator while its owner consented; it can be "
                    "re-authenticated once resumed");
    return;
  }
  auto match = std::find_if(vehicles.begin(), vehicles.end(), [&](const LinkedVehicle& v) {
    return c->vehicle_id.empty() ? same_vin(v.vin, c->vin) : v.vehicle_id == c->vehicle_id;
  });
  if (match == vehicles.end()) {
    refuse_link(link.id, 409, "not_covered",
                "this consent does not cover vehicle " +
                    (c->vehicle_id.empty() ? c->vin : c->vehicle_id) + " of connection " + cid);
    return;
  }
  link.vehicles = {std::move(*match)};
  link.storing = true;
  link.deadline.cancel();
  connections_.reauthorize(cid, std::move(link.secrets), control_done(link.id, {}));
}

void LinkRoutes::add_connections(Link& link, std::vector<LinkedVehicle> vehicles,
                                 boost::json::array refused) {
  std::vector<host::NewConnection> batch;
  std::vector<LinkedVehicle> adding;
  std::set<std::string, std::less<>> seen;
  size_t already_linked = 0;
  for (LinkedVehicle& v : vehicles) {
    if (v.identifiers_json.empty()) v.identifiers_json = "{}";
    const char* problem = nullptr;
    if (v.vehicle_id.empty())
      problem = "the driver gave no vehicle id for this car";
    else if (!seen.insert(v.vehicle_id).second)
      problem = "the driver listed this car twice";
    else if (!config::is_json_object(v.identifiers_json))
      problem = "the driver's identifiers for this car are not a JSON object";
    if (problem) {
      metrics_
          .counter("oemlink_link_refused_total", "Link flow requests refused, by reason",
                   {{"reason", "bad_vehicle"}})
          .add();
      refused.push_back(refused_car(v.vehicle_id, v.vin, problem));
      continue;
    }
    if (auto existing = connections_.find_vehicle(link.driver, v.vehicle_id, v.vin)) {
      ++already_linked;
      metrics_
          .counter("oemlink_link_refused_total", "Link flow requests refused, by reason",
                   {{"reason", "already_linked"}})
          .add();
      refused.push_back(
          refused_car(v.vehicle_id, v.vin, "already linked as connection " + existing->id));
      continue;
    }
    host::NewConnection n;
    n.driver = link.driver;
    n.vehicle_id = v.vehicle_id;
    n.vin = v.vin;
    n.display_name = v.display_name;
    n.identifiers_json = v.identifiers_json;
    n.secrets = link.secrets.copy();
    n.source = host::ConnectionSource::linked;
    batch.push_back(std::move(n));
    adding.push_back(std::move(v));
  }
  if (batch.empty()) {
    const bool all_linked = already_linked > 0 && already_linked == refused.size();
    refuse_link(link.id, 409, all_linked ? "no_new_car" : "no_vehicle",
                all_linked ? "every car of this consent is already linked"
                           : "no car of this consent can be linked",
                {{"refused", std::move(refused)}});
    return;
  }
  link.vehicles = std::move(adding);
  link.storing = true;
  link.deadline.cancel();
  connections_.add(std::move(batch), control_done(link.id, std::move(refused)));
}

void LinkRoutes::stored(uint64_t id, host::ControlResult result, boost::json::array refused) {
  auto it = live_.find(id);
  if (it == live_.end()) return;
  Link& link = *it->second;
  const bool reauth = !link.request.reauth_connection.empty();
  if (!result.ok()) {
    refuse_link(
        id, host::http_status_of(result.error), reauth ? "reauthorize_failed" : "store_failed",
        (reauth ? "could not re-authenticate connection " + link.request.reauth_connection + ": "
                : std::string("could not store the new connections: ")) +
            result.message);
    return;
  }
  for (const auto& [index, reason] : result.refused) {
    const LinkedVehicle* v = index < link.vehicles.size() ? &link.vehicles[index] : nullptr;
    metrics_
        .counter("oemlink_link_refused_total", "Link flow requests refused, by reason",
                 {{"reason", "already_linked"}})
        .add();
    refused.push_back(refused_car(v ? v->vehicle_id : "", v ? v->vin : "", reason));
  }
  if (result.connections.empty()) {
    refuse_link(id, 409, "no_new_car", "no car of this consent was linked",
                {{"refused", std::move(refused)}});
    return;
  }
  boost::json::array connections;
  std::vector<std::string> ids;
  std::map<std::string, CarFacts> facts;
  for (const host::ConnectionView& c : result.connections) {
    const LinkedVehicle* v = nullptr;
    for (const LinkedVehicle& x : link.vehicles)
      if (x.vehicle_id == c.vehicle_id) v = &x;
    connections.push_back(connection_json(c, v, link.request.owner));
    ids.push_back(c.id);
    if (v) facts[c.id] = CarFacts{v->make, v->model, v->year};
  }
  std::string joined;
  for (const std::string& i : ids) joined += (joined.empty() ? "" : ", ") + i;
  (reauth ? reauthorized_ : created_).add(ids.size());
  spdlog::info("link: driver {}: {} {}", link.driver,
               reauth ? "re-authenticated connection" : "linked connections", joined);
  boost::json::object body;
  body["driver"] = link.driver;
  body["connections"] = std::move(connections);
  body["refused"] = std::move(refused);
  body["mint_grant"] = grants_.issue(link.driver, std::move(ids), link.request.owner,
                                     clock_.steady_ms(), std::move(facts));
  body["mint_url"] = options_.public_url + "/link/" + link.driver + "/mint";
  std::unique_ptr<Link> done = std::move(it->second);
  live_.erase(it);
  done->out->respond(linked_answer(body, done->html));
}

}  // namespace oemlink::link
