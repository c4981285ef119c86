// POST /link/<driver>/mint, Authorization: Bearer <mint_grant>, a JSON body:
//   {"connection_id", "owner", "owner_signature"?, "vehicle_token_id"?, "manufacturer_node"?,
//    "device_definition_id"?, "make"?, "model"?, "year"?}
// Without owner_signature: the typed data to sign. With it: the complete request, stored once.
#include "core/link/link_routes.hpp"

#include "core/link/http_fields.hpp"
#include "core/link/link_answers.hpp"
#include "core/link/link_in_flight.hpp"

#include <spdlog/spdlog.h>
#include <boost/json/parse.hpp>

#include <strings.h>
#include <charconv>

namespace oemlink::link {
namespace {

// A JSON number or decimal string → uint64 (token ids may be written either way).
std::optional<uint64_t> unsigned_of(const boost::json::value& v) {
  if (v.is_uint64()) return v.as_uint64();
  if (v.is_int64() && v.as_int64() >= 0) return static_cast<uint64_t>(v.as_int64());
  if (v.is_string()) {
    std::string_view s = v.as_string();
    uint64_t n = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (ec == std::errc() && end == s.data() + s.size() && !s.empty()) return n;
  }
  return std::nullopt;
}

// Reads the body into `in`; returns what is wrong, "" when nothing is.
std::string read_body(const boost::json::object& o, std::string& connection_id,
                      std::string& signature, MintFields& in) {
  auto text = [&](std::string_view key, std::string& out) -> bool {
    const boost::json::value* v = o.if_contains(key);
    if (!v || v->is_null()) return true;
    if (!v->is_string()) return false;
    out = std::string(v->as_string());
    return true;
  };
  if (!text("connection_id", connection_id) || connection_id.empty())
    return "connection_id (a string) is required";
  if (!text("owner", in.owner)) return "owner must be a string";
  if (!text("owner_signature", signature)) return "owner_signature must be a string";
  if (!text("device_definition_id", in.device_definition_id))
    return "device_definition_id must be a string";
  if (!text("make", in.make)) return "make must be a string";
  if (!text("model", in.model)) return "model must be a string";
  if (const boost::json::value* v = o.if_contains("vehicle_token_id"); v && !v->is_null()) {
    auto n = unsigned_of(*v);
    if (!n) return "vehicle_token_id must be a non-negative integer";
    in.vehicle_token_id = *n;
  }
  if (const boost::json::value* v = o.if_contains("manufacturer_node"); v && !v->is_null()) {
    auto n = unsigned_of(*v);
    if (!n) return "manufacturer_node must be a non-negative integer";
    in.manufacturer_node = std::to_string(*n);
  }
  if (const boost::json::value* v = o.if_contains("year"); v && !v->is_null()) {
    auto n = unsigned_of(*v);
    if (!n || *n > 9999) return "year must be an integer up to 9999";
    in.year = static_cast<uint32_t>(*n);
  }
  return "";
}

bool same_address(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

void LinkRoutes::mint(const std::string& driver, const net::InboundRequest& req,
                      net::ResponderPtr out) {
  const std::string_view token = bearer_token(req.header("Authorization"));
  boost::system::error_code ec;
  boost::json::value body = boost::json::parse(req.body, ec);
  if (ec || !body.is_object()) {
    refuse(out, false, driver, 400, "bad_request", "the mint request's body must be a JSON object");
    return;
  }
  std::string connection_id, signature;
  MintFields in;
  if (std::string problem = read_body(body.as_object(), connection_id, signature, in);
      !problem.empty()) {
    refuse(out, false, driver, 400, "bad_request", problem);
    return;
  }
  MintGrants::Check grant = grants_.check(token, driver, connection_id, clock_.steady_ms());
  if (grant.verdict == MintGrants::Verdict::unknown) {
    metrics_
        .counter("oemlink_link_refused_total", "Link flow requests refused, by reason",
                 {{"reason", "unauthorized"}})
        .add();
    net::InboundResponse r = error_answer(
        401, "a valid mint grant (Authorization: Bearer, from the link's answer) is required",
        false);
    r.headers.emplace_back("WWW-Authenticate", "Bearer error=\"invalid_token\"");
    out->respond(std::move(r));
    return;
  }
  if (grant.verdict == MintGrants::Verdict::not_covered) {
    refuse(out, false, driver, 403, "forbidden",
           "this mint grant does not cover connection " + sanitised(connection_id));
    return;
  }
  if (!grant.owner.empty()) {
    if (!in.owner.empty() && !same_address(in.owner, grant.owner)) {
      refuse(out, false, driver, 403, "forbidden",
             "this mint grant was issued for owner " + grant.owner);
      return;
    }
    in.owner = grant.owner;
  }
  if (in.owner.empty()) {
    refuse(out, false, driver, 400, "bad_request",
           "owner (the car owner's 0x address) is required");
    return;
  }
  std::optional<host::ConnectionView> c = connections_.find(connection_id);
  if (!c) {
    refuse(out, false, driver, 404, "unknown_connection", "no connection " + connection_id);
    return;
  }
  if (c->state == host::ConnectionState::revoked) {
    refuse(out, false, driver, 409, "revoked", "connection " + connection_id + " was revoked");
    return;
  }
  if (in.vehicle_token_id == 0) in.vehicle_token_id = c->vehicle_token_id;
  // The car as the maker listed it at the callback, unless the body says otherwise: the owner
  // signs what the callback showed, so the request must be built from the same values.
  if (in.make.empty()) in.make = grant.car.make;
  if (in.model.empty()) in.model = grant.car.model;
  if (in.year == 0) in.year = grant.car.year;
  if (signature.empty()) {
    MintAnswer a = mint_->prepare(*c, in);
    if (!a.ok) {
      refuse(out, false, driver, 422, "mint_refused", a.text);
      return;
    }
    mints_prepared_.add();
    out->respond(json_answer(200, std::move(a.text)));
    return;
  }
  MintAnswer a = mint_->complete(*c, in, signature);
  if (!a.ok) {
    refuse(out, false, driver, 422, "mint_refused", a.text);
    return;
  }
  store_mint(*c, std::move(a.text), std::move(out));
}

void LinkRoutes::store_mint(const host::ConnectionView& c, std::string request,
                            net::ResponderPtr out) {
  const std::string driver = c.driver;
  connections_.set_mint(
      c.id, std::move(request),
      [door = door_, out = std::move(out), driver, id = c.id](host::ControlResult r) {
        LinkRoutes* owner;
        {
          std::lock_guard lock(door->mu);
          if (!door->open) {
            out->respond(error_answer(503, "oemlink is shutting down; ask again shortly", false));
            return;
          }
          owner = door->owner;
        }
        if (!r.ok() || r.connections.empty() || r.connections[0].mint_json.empty()) {
          owner->refuse(out, false, driver, r.error == host::ControlError::unavailable ? 503 : 409,
                        "mint_not_stored",
                        "the mint request of connection " + id + " was not stored: " + r.message);
          return;
        }
        owner->mints_stored_.add();
        spdlog::info("link: driver {}: mint request of connection {} stored", driver, id);
        out->respond(json_answer(200, r.connections[0].mint_json));
      });
}

}  // namespace oemlink::link
