#include "tools/mock-oem/smartcar/smartcar_service.hpp"

#include "tools/mock-oem/smartcar/signature.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <boost/json.hpp>
#include <boost/url/params_view.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include <algorithm>
#include <charconv>
#include <string_view>

namespace oemlink::mock_oem::smartcar {

namespace json = boost::json;
namespace http = boost::beast::http;
using std::chrono::system_clock;

struct SmartcarService::Route {
  std::string label = "other";  // the stats key, "GET /v3/vehicles/{id}/signals"
  std::string request_id = random_uuid();
  std::string path;
  std::string query;
  std::string base_url;
  std::string vehicle;
  Endpoint endpoint = Endpoint::any;
  std::chrono::milliseconds delay{0};
  bool drop = false;
  system_clock::time_point now = system_clock::now();
  Clock::time_point steady = Clock::now();
};

namespace {

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> parts;
  while (!path.empty()) {
    if (path.front() == '/') {
      path.remove_prefix(1);
      continue;
    }
    const size_t slash = path.find('/');
    parts.push_back(path.substr(0, slash));
    path = slash == std::string_view::npos ? std::string_view() : path.substr(slash);
  }
  return parts;
}

std::map<std::string, std::string> parse_params(std::string_view query) {
  std::map<std::string, std::string> out;
  if (query.empty()) return out;
  boost::urls::encoding_opts opts;
  opts.space_as_plus = true;
  try {
    for (auto param : boost::urls::params_view(query, opts)) out[param.key] = param.value;
  } catch (const std::exception&) {
    out.clear();
    out[""] = "malformed";
  }
  return out;
}

std::string base64_decode(std::string_view in) {
  if (in.size() % 4 != 0) return {};
  std::string out(in.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(in.data()),
                                static_cast<int>(in.size()));
  if (n < 0) return {};
  size_t size = static_cast<size_t>(n);
  for (size_t i = in.size(); i > 0 && in[i - 1] == '='; --i) --size;
  out.resize(size);
  return out;
}

Reply json_reply(unsigned status, const json::value& body, std::string_view request_id) {
  Reply r;
  r.status = status;
  r.body = json::serialize(body);
  r.headers.emplace_back("SC-Request-Id", std::string(request_id));
  return r;
}

bool parse_int(std::string_view text, int& out) {
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && p == text.data() + text.size();
}

}  // namespace

SmartcarService::SmartcarService(ServiceOptions options, Fleet fleet)
    : options_(std::move(options)),
      fleet_(std::move(fleet)),
      tokens_(options_.tokens),
      consent_(options_.client_id),
      bucket_(options_.bucket_capacity, options_.bucket_refill_per_minute, Clock::now()) {
  const auto now = Clock::now();
  for (const auto& t : options_.refresh_tokens) tokens_.accept_refresh_token(t, "", now);
  for (const auto& t : options_.access_tokens) tokens_.accept_access_token(t, now);
  for (const auto& c : options_.auth_codes) tokens_.accept_auth_code(c, now);
  for (const auto& v : fleet_.vehicles())
    for (const auto& t : v.refresh_tokens) tokens_.accept_refresh_token(t, v.id, now);
  for (auto& rule : options_.faults) faults_.add(rule);
}

Reply SmartcarService::handle(const Request& request) {
  // The sink checks signatures outside the lock: it is the one path meant for load.
  if (request.target() == "/mock/webhook-sink") {
    Route r;
    r.label = "POST /mock/webhook-sink";
    Reply reply = webhook_sink(request, r);
    std::lock_guard lock(mutex_);
    ++requests_[r.label][reply.status];
    return reply;
  }
  std::lock_guard lock(mutex_);
  Route r;
  auto target = boost::urls::parse_origin_form(request.target());
  Reply reply;
  if (!target) {
    r.label = "malformed";
    reply = error(r, documented_error(400), ErrorShape::v3);
  } else {
    r.path = std::string(target->path());
    r.query = std::string(target->encoded_query());
    if (!options_.public_url.empty())
      r.base_url = options_.public_url;
    else
      r.base_url = "http://" + std::string(request[http::field::host]);
    reply = route(request, r);
  }
  reply.delay += options_.latency + r.delay;
  reply.drop = reply.drop || r.drop;
  if (r.label != "GET /stats") ++requests_[r.label][reply.drop ? 0u : reply.status];
  if (!r.vehicle.empty() && fleet_.find(r.vehicle)) {
    if (reply.status >= 400) ++vehicles_[r.vehicle].errors;
    auto& served = served_[r.vehicle];
    if (served.size() >= kServedKept) served.erase(served.begin());
    served.push_back(
        {std::chrono::duration_cast<std::chrono::milliseconds>(r.steady - started_).count(),
         r.label, reply.drop ? 0u : reply.status});
  }
  return reply;
}

Reply SmartcarService::error(Route& r, ApiError e, ErrorShape shape) {
  return render_error(e, shape, r.request_id);
}

Reply SmartcarService::route(const Request& request, Route& r) {
  const auto parts = split_path(r.path);
  const bool is_get = request.method() == http::verb::get;
  if (r.path == "/stats" && is_get) {
    r.label = "GET /stats";
    return json_reply(200, stats(), r.request_id);
  }
  if (!parts.empty() && parts[0] == "mock") return control(request, r);
  if (r.path == "/oauth/token") {
    r.label = "POST /oauth/token";
    r.endpoint = Endpoint::token;
    if (request.method() != http::verb::post)
      return error(r, documented_error(404, "PATH"), ErrorShape::v2);
    return token(request, r);
  }
  if (r.path == "/oauth/authorize") {
    r.label = "GET /oauth/authorize";
    if (!is_get) return error(r, documented_error(404, "PATH"), ErrorShape::v2);
    return consent_.authorize(r.query, fleet_, r.steady);
  }
  if (r.path == "/oauth/authorize/decision") {
    r.label = "POST /oauth/authorize/decision";
    if (request.method() != http::verb::post)
      return error(r, documented_error(404, "PATH"), ErrorShape::v2);
    return consent_.decide(request.body(), fleet_, tokens_, r.steady);
  }
  if (parts.size() == 2 && parts[0] == "v2.0" && (parts[1] == "user" || parts[1] == "vehicles"))
    return account_api(request, r);
  if (parts.size() >= 3 && (parts[0] == "v3" || parts[0] == "v2.0") && parts[1] == "vehicles")
    return vehicle_api(request, r);
  return error(r, documented_error(404, "PATH"),
               !parts.empty() && parts[0] == "v2.0" ? ErrorShape::v2 : ErrorShape::v3);
}

Reply SmartcarService::token(const Request& request, Route& r) {
  if (auto fault = faults_.take(Endpoint::token, "")) {
    r.delay += fault->delay;
    r.drop = fault->drop;
    if (fault->status) {
      ApiError e = documented_error(fault->status, fault->code);
      if (fault->status == 429)
        e.retry_after_s = fault->retry_after_s >= 0 ? fault->retry_after_s : 60;
      return error(r, e, fault->shape.value_or(ErrorShape::v2));
    }
  }
  // Client authentication: HTTP Basic only, as the real endpoint.
  const std::string_view auth = request[http::field::authorization];
  const std::string expected = options_.client_id + ":" + options_.client_secret;
  if (auth.size() < 6 || auth.substr(0, 6) != "Basic " ||
      base64_decode(auth.substr(6)) != expected) {
    ApiError e = documented_error(401);
    e.description = "Invalid or missing client credentials in the Authorization header.";
    e.resolution_type.reset();
    return error(r, e, ErrorShape::v2);
  }
  auto form = parse_params(request.body());
  const std::string grant = form["grant_type"];
  TokenPair pair;
  if (grant == "refresh_token") {
    if (form["refresh_token"].empty()) {
      ApiError e = documented_error(400);
      e.description = "Missing required parameter: refresh_token.";
      return error(r, e, ErrorShape::v2);
    }
    TokenLedger::Refused why{};
    std::string vehicle;
    if (!tokens_.refresh(form["refresh_token"], r.steady, pair, why, vehicle)) {
      ApiError e = documented_error(401);
      e.description = why == TokenLedger::Refused::used_up
                          ? "The refresh token was already used and its grace period is over."
                      : why == TokenLedger::Refused::expired ? "The refresh token has expired."
                                                             : "The refresh token is invalid.";
      e.resolution_url = reauthenticate_url(options_.client_id, vehicle);
      return error(r, e, ErrorShape::v2);
    }
  } else if (grant == "authorization_code") {
    TokenLedger::CodeRefused why{};
    if (!tokens_.exchange_code(form["code"], form["redirect_uri"], r.steady, pair, why)) {
      // OAuth 2.0's answer to a bad code (RFC 6749 5.2), not Smartcar's API error shape.
      const char* description =
          why == TokenLedger::CodeRefused::redirect_mismatch
              ? "redirect_uri does not match the one of the authorization request."
          : why == TokenLedger::CodeRefused::expired
              ? "The authorization code has expired."
              : "Invalid or already used authorization code.";
      Reply reply = json_reply(
          400, json::object{{"error", "invalid_grant"}, {"error_description", description}},
          r.request_id);
      reply.headers.emplace_back("Cache-Control", "no-store");
      return reply;
    }
  } else {
    ApiError e = documented_error(400);
    e.description = "Unsupported grant_type: expected refresh_token or authorization_code.";
    return error(r, e, ErrorShape::v2);
  }
  Reply reply = json_reply(200,
                           json::object{{"access_token", pair.access_token},
                                        {"token_type", "Bearer"},
                                        {"expires_in", pair.expires_in_s},
                                        {"refresh_token", pair.refresh_token}},
                           r.request_id);
  reply.headers.emplace_back("Cache-Control", "no-store");
  return reply;
}

Reply SmartcarService::vehicle_api(const Request& request, Route& r) {
  const auto parts = split_path(r.path);
  const bool v3_api = parts[0] == "v3";
  const ErrorShape shape = v3_api ? ErrorShape::v3 : ErrorShape::v2;
  r.vehicle = std::string(parts[2]);
  // The stats label and the fault endpoint.
  if (v3_api) {
    if (parts.size() == 3)
      r.label = "GET /v3/vehicles/{id}", r.endpoint = Endpoint::vehicle;
    else if (parts.size() == 4 && parts[3] == "signals")
      r.label = "GET /v3/vehicles/{id}/signals", r.endpoint = Endpoint::signals;
    else if (parts.size() == 5 && parts[3] == "signals")
      r.label = "GET /v3/vehicles/{id}/signals/{code}", r.endpoint = Endpoint::signals;
    else
      return error(r, documented_error(404, "PATH"), shape);
    if (request.method() != http::verb::get) return error(r, documented_error(404, "PATH"), shape);
  } else {
    if (parts.size() == 4 && parts[3] == "batch") {
      r.label = "POST /v2.0/vehicles/{id}/batch", r.endpoint = Endpoint::batch;
      if (request.method() != http::verb::post)
        return error(r, documented_error(404, "PATH"), shape);
    } else {
      // Known v2 paths keep their own stats key; anything else shares one, so a client cannot
      // grow the table without bound.
      std::string tail;
      for (size_t i = 3; i < parts.size(); ++i) tail += "/" + std::string(parts[i]);
      static constexpr std::string_view kKnown[] = {
          "",      "/odometer", "/location",       "/battery",    "/charge",
          "/fuel", "/vin",      "/tires/pressure", "/engine/oil", "/charge/limit"};
      const bool known = std::find(std::begin(kKnown), std::end(kKnown), tail) != std::end(kKnown);
      r.label = "GET /v2.0/vehicles/{id}" + (known ? tail : std::string("/{other}"));
      r.endpoint = parts.size() == 3 ? Endpoint::vehicle : Endpoint::signals;
      if (request.method() != http::verb::get)
        return error(r, documented_error(404, "PATH"), shape);
    }
  }

  if (auto fault = faults_.take(r.endpoint, r.vehicle)) {
    r.delay += fault->delay;
    r.drop = fault->drop;
    if (fault->status) {
      ApiError e = documented_error(fault->status, fault->code);
      if (fault->status == 429)
        e.retry_after_s = fault->retry_after_s >= 0 ? fault->retry_after_s : 60;
      if (fault->status == 401 || fault->status == 403)
        e.resolution_url = reauthenticate_url(options_.client_id, r.vehicle);
      return error(r, e, fault->shape.value_or(shape));
    }
  }

  const std::string_view auth = request[http::field::authorization];
  if (auth.size() < 7 || auth.substr(0, 7) != "Bearer ")
    return error(r, documented_error(401), shape);
  if (tokens_.check_access(auth.substr(7), r.steady) != TokenLedger::AccessCheck::valid) {
    ApiError e = documented_error(401);
    e.resolution_url = reauthenticate_url(options_.client_id, r.vehicle);
    return error(r, e, shape);
  }

  int retry_after = 0;
  if (!bucket_.take(r.steady, retry_after)) {
    ApiError e = documented_error(429, "SMARTCAR_API");
    e.retry_after_s = retry_after;
    return error(r, e, shape);
  }

  VehicleSpec* vehicle = fleet_.find(r.vehicle);
  if (!vehicle) {
    ApiError e = documented_error(404, "PATH");
    e.description = "No vehicle with this id is connected to your application.";
    return error(r, e, shape);
  }
  // A consent's token reaches only the cars the owner picked.
  if (GrantRef grant = tokens_.grant_of(auth.substr(7)); grant && !grant->reaches(vehicle->id)) {
    ApiError e = documented_error(403);
    e.description = "The owner did not grant this access token access to this vehicle.";
    e.resolution_url = reauthenticate_url(options_.client_id, r.vehicle);
    return error(r, e, shape);
  }
  auto& counters = vehicles_[vehicle->id];
  const int64_t quota =
      vehicle->monthly_quota >= 0 ? vehicle->monthly_quota : options_.monthly_quota;
  if (quota >= 0 && static_cast<int64_t>(counters.billed) >= quota)
    return error(r, documented_error(430, "VEHICLE_REQUEST_LIMIT"), shape);
  ++counters.reads;
  ++counters.by_endpoint[r.label];
  return v3_api ? v3(request, r, *vehicle) : v2(request, r, *vehicle);
}

Reply SmartcarService::account_api(const Request& request, Route& r) {
  const bool user_route = r.path == "/v2.0/user";
  r.label = user_route ? "GET /v2.0/user" : "GET /v2.0/vehicles";
  if (request.method() != http::verb::get)
    return error(r, documented_error(404, "PATH"), ErrorShape::v2);
  const std::string_view auth = request[http::field::authorization];
  if (auth.size() < 7 || auth.substr(0, 7) != "Bearer " ||
      tokens_.check_access(auth.substr(7), r.steady) != TokenLedger::AccessCheck::valid)
    return error(r, documented_error(401), ErrorShape::v2);
  int retry_after = 0;
  if (!bucket_.take(r.steady, retry_after)) {
    ApiError e = documented_error(429, "SMARTCAR_API");
    e.retry_after_s = retry_after;
    return error(r, e, ErrorShape::v2);
  }
  const GrantRef grant = tokens_.grant_of(auth.substr(7));
  if (user_route)
    return json_reply(
        200, json::object{{"id", grant->user.empty() ? std::string(kDefaultUser) : grant->user}},
        r.request_id);
  // Smartcar's paging: limit (default 10, at most 50) and offset; paging.count is the total.
  auto params = parse_params(r.query);
  int limit = 10, offset = 0;
  if (params.count("limit") && (!parse_int(params["limit"], limit) || limit < 1 || limit > 50)) {
    ApiError e = documented_error(400);
    e.description = "\"limit\" must be an integer from 1 to 50.";
    return error(r, e, ErrorShape::v2);
  }
  if (params.count("offset") && (!parse_int(params["offset"], offset) || offset < 0)) {
    ApiError e = documented_error(400);
    e.description = "\"offset\" must be a non-negative integer.";
    return error(r, e, ErrorShape::v2);
  }
  std::vector<std::string> reachable;
  for (const VehicleSpec& v : fleet_.vehicles())
    if (grant->reaches(v.id)) reachable.push_back(v.id);
  json::array ids;
  for (size_t i = static_cast<size_t>(offset);
       i < reachable.size() && i < static_cast<size_t>(offset) + static_cast<size_t>(limit); ++i)
    ids.emplace_back(reachable[i]);
  return json_reply(
      200,
      json::object{{"vehicles", std::move(ids)},
                   {"paging", json::object{{"count", reachable.size()}, {"offset", offset}}}},
      r.request_id);
}

Reply SmartcarService::v3(const Request&, Route& r, VehicleSpec& vehicle) {
  auto& counters = vehicles_[vehicle.id];
  const auto parts = split_path(r.path);
  const std::string self = r.base_url + r.path;
  if (parts.size() == 3) return json_reply(200, fleet_.render_vehicle(vehicle, self), r.request_id);
  if (parts.size() == 5) {
    for (const auto& s : vehicle.signals)
      if (s.code == parts[4]) {
        ++counters.billed;
        return json_reply(200, fleet_.render_signal(vehicle, s, r.now), r.request_id);
      }
    ApiError e = documented_error(404, "PATH");
    e.description = "Unknown signal code: " + std::string(parts[4]) + ".";
    return error(r, e, ErrorShape::v3);
  }
  auto params = parse_params(r.query);
  int page = 1, page_size = options_.page_size;
  if (params.count("page") && (!parse_int(params["page"], page) || page < 1)) {
    ApiError e = documented_error(400);
    e.description = "\"page\" must be a positive integer.";
    return error(r, e, ErrorShape::v3);
  }
  if (params.count("pageSize") &&
      (!parse_int(params["pageSize"], page_size) || page_size < 1 || page_size > 1000)) {
    ApiError e = documented_error(400);
    e.description = "\"pageSize\" must be an integer from 1 to 1000.";
    return error(r, e, ErrorShape::v3);
  }
  // One billed read per round: the first page.
  if (page == 1) ++counters.billed;
  const size_t total = vehicle.signals.size();
  const size_t first = static_cast<size_t>(page - 1) * static_cast<size_t>(page_size);
  json::array data;
  for (size_t i = first; i < total && i < first + static_cast<size_t>(page_size); ++i)
    data.push_back(fleet_.render_signal(vehicle, vehicle.signals[i], r.now));
  json::object links{{"self", self + (r.query.empty() ? "" : "?" + r.query)}};
  if (first + static_cast<size_t>(page_size) < total) {
    std::string next = self + "?page=" + std::to_string(page + 1);
    if (params.count("pageSize")) next += "&pageSize=" + std::to_string(page_size);
    links["next"] = next;
  }
  json::object body{
      {"data", std::move(data)},
      {"meta", json::object{{"page", page}, {"pageSize", page_size}, {"totalCount", total}}},
      {"links", std::move(links)}};
  return json_reply(200, body, r.request_id);
}

Reply SmartcarService::v2(const Request& request, Route& r, VehicleSpec& vehicle) {
  auto& counters = vehicles_[vehicle.id];
  const std::string_view units_header = request["SC-Unit-System"];
  if (!units_header.empty() && units_header != "metric" && units_header != "imperial") {
    ApiError e = documented_error(400);
    e.description = "SC-Unit-System must be metric or imperial.";
    return error(r, e, ErrorShape::v2);
  }
  const bool imperial = units_header == "imperial";
  const std::string units = imperial ? "imperial" : "metric";
  const auto parts = split_path(r.path);

  // One v2 path: its body, or its error, with the headers Smartcar puts on it.
  auto read_path = [&](std::string_view path, unsigned& status, json::object& headers) {
    system_clock::time_point age;
    auto body = fleet_.render_v2(vehicle, path, imperial, r.now, status, age);
    headers = json::object{{"sc-unit-system", units}};
    if (body) {
      if (path != "" && path != "/") headers["sc-data-age"] = iso8601_ms(age);
      return json::value(std::move(*body));
    }
    ApiError e = documented_error(status, status == 404 ? "PATH" : "VEHICLE_NOT_CAPABLE");
    return json::parse(render_error(e, ErrorShape::v2, r.request_id).body);
  };

  if (parts.size() == 4 && parts[3] == "batch") {
    boost::system::error_code ec;
    json::value req = json::parse(request.body(), ec);
    const json::value* list =
        !ec && req.is_object() ? req.get_object().if_contains("requests") : nullptr;
    if (!list || !list->is_array() || list->get_array().empty()) {
      ApiError e = documented_error(400);
      e.description = "The body must be {\"requests\":[{\"path\":...}, ...]}.";
      return error(r, e, ErrorShape::v2);
    }
    json::array responses;
    for (const auto& item : list->get_array()) {
      const json::value* path = item.is_object() ? item.get_object().if_contains("path") : nullptr;
      if (!path || !path->is_string()) {
        ApiError e = documented_error(400);
        e.description = "Each request needs a string \"path\".";
        return error(r, e, ErrorShape::v2);
      }
      unsigned status = 200;
      json::object headers;
      json::value body = read_path(path->get_string(), status, headers);
      ++counters.billed;  // each sub-request is billed
      responses.push_back(json::object{{"path", path->get_string()},
                                       {"code", status},
                                       {"body", std::move(body)},
                                       {"headers", std::move(headers)}});
    }
    Reply reply = json_reply(200, json::object{{"responses", std::move(responses)}}, r.request_id);
    reply.headers.emplace_back("SC-Unit-System", units);
    return reply;
  }

  std::string path;
  for (size_t i = 3; i < parts.size(); ++i) path += "/" + std::string(parts[i]);
  unsigned status = 200;
  json::object headers;
  json::value body = read_path(path, status, headers);
  if (status == 200 && !path.empty()) ++counters.billed;
  Reply reply = json_reply(status, body, r.request_id);
  reply.headers.emplace_back("SC-Unit-System", units);
  reply.headers.emplace_back("SC-Fetched-At", iso8601_ms(r.now));
  if (auto* age = headers.if_contains("sc-data-age"))
    reply.headers.emplace_back("SC-Data-Age", std::string(age->get_string()));
  return reply;
}

Reply SmartcarService::control(const Request& request, Route& r) {
  const auto parts = split_path(r.path);
  const auto method = request.method();
  auto bad = [&](const std::string& why) {
    Reply reply{400, "application/json", {}, json::serialize(json::object{{"error", why}})};
    return reply;
  };
  boost::system::error_code ec;
  auto parse_body = [&]() -> json::value {
    if (request.body().empty()) return json::object{};
    return json::parse(request.body(), ec);
  };

  if (parts.size() == 2 && parts[1] == "inject") {
    r.label = std::string(request.method_string()) + " /mock/inject";
    if (method == http::verb::delete_) {
      faults_.clear();
      return json_reply(200, json::object{{"rules", json::array{}}}, r.request_id);
    }
    if (method == http::verb::post) {
      json::value body = parse_body();
      if (ec) return bad("POST /mock/inject: body is not JSON: " + ec.message());
      std::vector<FaultRule> added;
      try {
        if (body.is_array()) {
          for (const auto& item : body.get_array()) {
            if (!item.is_object()) return bad("POST /mock/inject: each rule must be an object");
            added.push_back(parse_fault_rule(item.get_object()));
          }
        } else if (body.is_object()) {
          added.push_back(parse_fault_rule(body.get_object()));
        } else {
          return bad("POST /mock/inject: body must be a rule object or an array of them");
        }
      } catch (const std::exception& e) {
        return bad(std::string("POST /mock/inject: ") + e.what());
      }
      for (auto& rule : added) faults_.add(std::move(rule));
    } else if (method != http::verb::get) {
      return bad("/mock/inject takes GET, POST or DELETE");
    }
    json::array rules;
    for (const auto& rule : faults_.rules()) rules.push_back(describe(rule));
    return json_reply(200, json::object{{"rules", std::move(rules)}}, r.request_id);
  }

  if (parts.size() == 5 && parts[1] == "vehicles" && parts[3] == "signals" &&
      (method == http::verb::put || method == http::verb::post)) {
    r.label = "PUT /mock/vehicles/{id}/signals/{code}";
    VehicleSpec* vehicle = fleet_.find(parts[2]);
    if (!vehicle) return bad("no vehicle \"" + std::string(parts[2]) + "\"");
    json::value body = parse_body();
    if (ec || !body.is_object()) return bad("the body must be a JSON object of signal keys");
    try {
      fleet_.patch_signal(*vehicle, parts[4], body.get_object(), r.now);
    } catch (const std::exception& e) {
      return bad(e.what());
    }
    for (const auto& s : vehicle->signals)
      if (s.code == parts[4])
        return json_reply(200, fleet_.render_signal(*vehicle, s, r.now), r.request_id);
  }

  if (parts.size() == 2 && parts[1] == "tokens" && method == http::verb::post) {
    r.label = "POST /mock/tokens";
    json::value body = parse_body();
    if (ec || !body.is_object()) return bad("the body must be a JSON object");
    const auto& o = body.get_object();
    auto str = [&](std::string_view key) -> std::string {
      auto* v = o.if_contains(key);
      return v && v->is_string() ? std::string(v->get_string()) : std::string();
    };
    const std::string vehicle = str("vehicle");
    if (!str("refresh_token").empty())
      tokens_.accept_refresh_token(str("refresh_token"), vehicle, r.steady);
    if (!str("access_token").empty()) tokens_.accept_access_token(str("access_token"), r.steady);
    if (!str("auth_code").empty()) tokens_.accept_auth_code(str("auth_code"), r.steady);
    return json_reply(200, json::object{{"ok", true}}, r.request_id);
  }

  if (parts.size() == 4 && parts[1] == "vehicles" && parts[3] == "requests" &&
      method == http::verb::get) {
    r.label = "GET /mock/vehicles/{id}/requests";
    json::array out;
    if (auto it = served_.find(std::string(parts[2])); it != served_.end())
      for (const Served& s : it->second)
        out.push_back(json::object{{"at_ms", s.at_ms}, {"route", s.route}, {"status", s.status}});
    return json_reply(200, json::object{{"requests", std::move(out)}}, r.request_id);
  }

  if (parts.size() == 2 && parts[1] == "tokens" && method == http::verb::get) {
    // The mock's tokens are test data: a test greps oemlink's logs and files for every one.
    r.label = "GET /mock/tokens";
    json::array access, refresh;
    for (auto& t : tokens_.access_tokens()) access.emplace_back(t);
    for (auto& t : tokens_.refresh_tokens()) refresh.emplace_back(t);
    return json_reply(
        200,
        json::object{{"access_tokens", std::move(access)}, {"refresh_tokens", std::move(refresh)}},
        r.request_id);
  }

  if (parts.size() == 2 && parts[1] == "bucket" && method == http::verb::post) {
    r.label = "POST /mock/bucket";
    json::value body = parse_body();
    const json::value* available =
        !ec && body.is_object() ? body.get_object().if_contains("available") : nullptr;
    if (!available || !available->is_number())
      return bad("the body must be {\"available\": <number>}");
    bucket_.set_available(available->to_number<double>(), r.steady);
    return json_reply(200, json::object{{"available", bucket_.available(r.steady)}}, r.request_id);
  }

  r.label = "other /mock";
  Reply reply{404,
              "application/json",
              {},
              json::serialize(json::object{{"error", "unknown control route " + r.path}})};
  return reply;
}

Reply SmartcarService::webhook_sink(const Request& request, Route& r) {
  if (options_.sink_amt.empty() || request.method() != http::verb::post)
    return Reply{
        404, "application/json", {}, R"({"error":"the sink needs --webhook-amt and POST"})"};
  const std::string expected = hmac_sha256_hex(options_.sink_amt, request.body());
  const std::string_view given = request["SC-Signature"];
  const bool signed_ok = given.size() == expected.size() &&
                         CRYPTO_memcmp(given.data(), expected.data(), expected.size()) == 0;
  boost::system::error_code ec;
  if (signed_ok) (void)json::parse(request.body(), ec);
  std::lock_guard lock(mutex_);
  if (!signed_ok || ec) {
    ++sink_refused_;
    return Reply{signed_ok ? 400u : 401u,
                 "application/json",
                 {},
                 signed_ok ? R"({"error":"malformed JSON"})" : R"({"error":"bad signature"})"};
  }
  ++sink_verified_;
  (void)r;
  return Reply{200, "application/json", {}, R"({"ok":true})"};
}

json::object SmartcarService::stats() {
  json::object requests;
  for (const auto& [label, by_status] : requests_) {
    json::object counts;
    for (const auto& [status, n] : by_status)
      counts[status ? std::to_string(status) : "dropped"] = n;
    requests[label] = std::move(counts);
  }
  json::object vehicles;
  for (const auto& [id, c] : vehicles_) {
    json::object by_endpoint;
    for (const auto& [label, n] : c.by_endpoint) by_endpoint[label] = n;
    vehicles[id] = json::object{{"reads", c.reads},
                                {"billed", c.billed},
                                {"errors", c.errors},
                                {"by_endpoint", std::move(by_endpoint)}};
  }
  json::array rules;
  for (const auto& rule : faults_.rules()) rules.push_back(describe(rule));
  const auto now = Clock::now();
  return json::object{
      {"requests", std::move(requests)},
      {"tokens", json::object{{"refreshes", tokens_.refreshes()},
                              {"code_exchanges", tokens_.code_exchanges()},
                              {"consents_approved", consent_.approved()},
                              {"consents_denied", consent_.denied()},
                              {"refused", tokens_.refused()}}},
      {"vehicles", std::move(vehicles)},
      {"bucket", json::object{{"enabled", bucket_.enabled()},
                              {"capacity", bucket_.capacity()},
                              {"refill_per_minute", bucket_.refill_per_minute()},
                              {"available", bucket_.enabled() ? bucket_.available(now) : 0.0},
                              {"refused", bucket_.refused()}}},
      {"faults", json::object{{"fired", faults_.fired()}, {"pending", std::move(rules)}}},
      {"webhook_sink", json::object{{"verified", sink_verified_}, {"refused", sink_refused_}}},
  };
}

}  // namespace oemlink::mock_oem::smartcar
