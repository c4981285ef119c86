// GET /link/<driver>/start[?connection=<id>][&owner=0x..][&vehicles=VIN1,VIN2]
#include "core/link/link_routes.hpp"

#include "core/link/http_fields.hpp"
#include "core/link/link_answers.hpp"

#include <spdlog/spdlog.h>

#include <cctype>

namespace oemlink::link {
namespace {

// The form the mint builder reads (crypto::parse_address): "0x", then 40 hex digits of any case.
bool is_address(std::string_view s) {
  if (s.size() != 42 || !s.starts_with("0x")) return false;
  for (char c : s.substr(2))
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

// "A,B" → {"A","B"}; nullopt when an entry is empty or there are too many.
// Each pending start keeps its list for linking.state_ttl, and anyone may start: a list is an
// owner's pick of cars (fleets link through the admin API), kept small so that max_pending
// starts of the longest list stay tens of MB, not the GB that 1000 entries per start allowed.
std::optional<std::vector<std::string>> vehicle_list(std::string_view text) {
  constexpr size_t kMaxVehicles = 100, kMaxText = 2048;
  if (text.size() > kMaxText) return std::nullopt;
  std::vector<std::string> out;
  while (true) {
    size_t comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    if (item.empty() || item.size() > 128 || out.size() == kMaxVehicles) return std::nullopt;
    out.emplace_back(item);
    if (comma == std::string_view::npos) return out;
    text.remove_prefix(comma + 1);
  }
}

}  // namespace

void LinkRoutes::start(const std::string& driver, Linkable& l, const net::InboundRequest& req,
                       net::ResponderPtr out, bool html) {
  starts_.add();
  auto params = query_params(req.target);
  if (!params) {
    refuse(out, html, driver, 400, "bad_request", "the start's query is not valid URL encoding");
    return;
  }
  LinkRequest request;
  request.driver = driver;
  std::string vehicle_id;  // of the re-authenticated car
  if (auto it = params->find("owner"); it != params->end()) {
    if (!is_address(it->second)) {
      refuse(out, html, driver, 400, "bad_request",
             "owner must be an Ethereum address: 0x and 40 hex digits");
      return;
    }
    request.owner = it->second;
  }
  if (auto it = params->find("vehicles"); it != params->end()) {
    auto list = vehicle_list(it->second);
    if (!list) {
      refuse(out, html, driver, 400, "bad_request",
             "vehicles must be a comma-separated list of VINs or vehicle ids (at most 100, "
             "2048 characters)");
      return;
    }
    request.vehicles = std::move(*list);
  }
  if (auto it = params->find("connection"); it != params->end()) {
    std::optional<host::ConnectionView> c = connections_.find(it->second);
    if (!c || c->driver != driver) {
      refuse(out, html, driver, 404, "unknown_connection",
             "driver " + driver + " has no connection " + sanitised(it->second));
      return;
    }
    if (c->state == host::ConnectionState::revoked) {
      refuse(out, html, driver, 409, "revoked",
             "connection " + c->id + " was revoked; link the car again as a new connection");
      return;
    }
    if (c->state == host::ConnectionState::paused) {
      // Re-authentication makes a connection active: a public link must not undo its operator.
      refuse(out, html, driver, 409, "paused",
             "connection " + c->id +
                 " is paused by its operator; it can be re-authenticated once resumed");
      return;
    }
    request.reauth_connection = c->id;
    vehicle_id = c->vehicle_id;
  }
  DriverLinker linker(*l.instance, *l.ext);
  const std::string reauth = request.reauth_connection;
  std::optional<StartedLink> started =
      sessions_.begin(std::move(request), linker.pkce(), clock_.steady_ms());
  if (!started) {
    refuse(out, html, driver, 503, "too_many_pending",
           "too many links in progress; try again in a few minutes");
    return;
  }
  DriverLinker::Url url =
      linker.authorize_url(started->state, redirect_uri(driver), started->challenge, vehicle_id);
  if (!url.ok) {
    sessions_.cancel(started->state);
    refuse(out, html, driver, 500, "driver_refused",
           "driver " + driver + " cannot start a link: " + sanitised(url.text));
    return;
  }
  std::string cookie = "oemlink_link_" + driver + "=" + started->nonce +
                       "; HttpOnly; SameSite=Lax; Path=" + cookie_path(driver) +
                       "; Max-Age=" + std::to_string(sessions_.ttl().count() / 1000);
  if (options_.public_url.starts_with("https://")) cookie += "; Secure";
  net::InboundResponse r;
  r.status = 302;
  r.headers = {{"Location", std::move(url.text)},
               {"Set-Cookie", std::move(cookie)},
               {"Cache-Control", "no-store"},
               {"Content-Type", "text/plain; charset=utf-8"}};
  r.body = "Continue at your car maker's consent page.\n";
  spdlog::info("link: driver {}: started a {} ({} pending)", driver,
               reauth.empty() ? std::string("new link") : "re-authentication of " + reauth,
               sessions_.pending());
  out->respond(std::move(r));
}

}  // namespace oemlink::link
