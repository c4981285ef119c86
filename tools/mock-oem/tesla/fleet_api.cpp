#include "tools/mock-oem/tesla/fleet_api.hpp"

#include "tools/mock-oem/tesla/form_codec.hpp"
#include "tools/mock-oem/tesla/json_text.hpp"
#include "tools/mock-oem/tesla/telemetry_jws.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <boost/url/parse.hpp>

#include <algorithm>
#include <chrono>
#include <map>

namespace oemlink::mock_oem::tesla {
namespace {

namespace json = boost::json;
namespace http = boost::beast::http;

constexpr std::string_view kAsleepBody =
    R"({"response":null,"error":"vehicle unavailable: vehicle is offline or asleep","error_description":""})";

Reply json_reply(unsigned status, const json::value& body) {
  Reply r;
  r.status = status;
  r.body = to_json_text(body);
  return r;
}

// Tesla's envelope for errors: {"response":null,"error":…,"error_description":…}.
Reply envelope_error(unsigned status, std::string_view error, std::string_view description = "") {
  return json_reply(
      status,
      json::object{{"response", nullptr}, {"error", error}, {"error_description", description}});
}

Reply response_reply(json::value response) {
  return json_reply(200, json::object{{"response", std::move(response)}});
}

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> out;
  while (!path.empty()) {
    const size_t slash = path.find('/');
    if (slash != 0) out.emplace_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

std::optional<json::object> parse_body_object(const Request& req) {
  boost::system::error_code ec;
  json::value v = json::parse(req.body(), ec);
  if (ec || !v.is_object()) return std::nullopt;
  return std::move(v.as_object());
}

std::optional<std::vector<std::string>> string_array(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (!v || !v->is_array()) return std::nullopt;
  std::vector<std::string> out;
  for (const auto& e : v->as_array()) {
    if (!e.is_string()) return std::nullopt;
    out.emplace_back(e.as_string());
  }
  return out;
}

std::string string_member(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Fleet Telemetry refuses configs it cannot apply; this names the first member at fault.
std::string telemetry_config_problem(const json::object& c) {
  const json::value* host = c.if_contains("hostname");
  if (!host || !host->is_string() || host->as_string().empty())
    return "config.hostname must be a non-empty string";
  const json::value* port = c.if_contains("port");
  if (!port || !(port->is_int64() || port->is_uint64()) || port->to_number<int64_t>() < 1 ||
      port->to_number<int64_t>() > 65535)
    return "config.port must be an integer in 1..65535";
  if (const json::value* ca = c.if_contains("ca"); ca && !ca->is_string())
    return "config.ca must be a PEM string";
  const json::value* fields = c.if_contains("fields");
  if (!fields || !fields->is_object() || fields->as_object().empty())
    return "config.fields must be a non-empty object";
  for (const auto& [name, f] : fields->as_object()) {
    if (!f.is_object()) return "config.fields." + std::string(name) + " must be an object";
    const json::value* interval = f.as_object().if_contains("interval_seconds");
    if (!interval || !(interval->is_int64() || interval->is_uint64()) ||
        interval->to_number<int64_t>() < 1)
      return "config.fields." + std::string(name) + ".interval_seconds must be a positive integer";
    if (const json::value* d = f.as_object().if_contains("minimum_delta"); d && !d->is_number())
      return "config.fields." + std::string(name) + ".minimum_delta must be a number";
  }
  if (const json::value* exp = c.if_contains("exp"); exp && !exp->is_number())
    return "config.exp must be a Unix time in seconds";
  return {};
}

}  // namespace

struct FleetApi::Call {
  explicit Call(const Request& r) : req(r) {}
  const Request& req;
  std::string path;  // without the region prefix
  std::string region = "na";
  std::vector<std::string> segments;
  std::map<std::string, std::string> query;
  std::string endpoint = "unknown";  // route template, for /stats
  BillingCategory category = BillingCategory::kFree;
  std::string vin;
  const CarRecord* car = nullptr;
  Bearer bearer;
  int extra_latency_ms = 0;
};

FleetApi::FleetApi(const TeslaOptions& options, TokenAuthority& tokens, Fleet& fleet,
                   InjectionTable& injections, Billing& billing)
    : options_(options),
      tokens_(tokens),
      fleet_(fleet),
      injections_(injections),
      billing_(billing),
      consent_(
          options.tokens.client_id,
          [&options] {
            // "default" first: the page's preselected account.
            std::vector<std::string> names{"default"};
            for (const auto& [name, profile] : options.accounts)
              if (name != "default") names.push_back(name);
            return names;
          }(),
          tokens, fleet),
      registered_regions_(options.registered_regions) {}

int FleetApi::latency_ms() {
  if (options_.latency_jitter_ms == 0) return options_.latency_ms;
  std::lock_guard lock(mu_);
  return options_.latency_ms +
         std::uniform_int_distribution<int>(0, options_.latency_jitter_ms)(rng_);
}

std::string FleetApi::base_url(const Call& call, const std::string& region) const {
  std::string origin = options_.public_base;
  if (origin.empty()) {
    auto host = call.req.find(http::field::host);
    origin = "http://" + (host != call.req.end() ? std::string(host->value()) : "127.0.0.1");
  }
  return origin + "/" + region;
}

Reply FleetApi::handle(const Request& request) {
  Call call{request};
  auto parsed = boost::urls::parse_origin_form(request.target());
  if (!parsed) return envelope_error(400, "malformed request target");
  call.path = std::string(parsed->path());
  for (const auto& p : parsed->params()) call.query[std::string(p.key)] = std::string(p.value);

  if (call.path == "/stats" || call.path.starts_with("/mock/")) return answer_control(call);

  for (const char* region : {"na", "eu", "cn"}) {
    const std::string prefix = std::string("/") + region;
    if (call.path == prefix || call.path.starts_with(prefix + "/")) {
      call.region = region;
      call.path = call.path.substr(prefix.size());
      break;
    }
  }
  call.segments = split_path(call.path);

  const bool oauth =
      call.segments.size() >= 3 && call.segments[0] == "oauth2" && call.segments[1] == "v3";
  Reply reply = oauth && call.segments.size() == 3 && call.segments[2] == "token"
                    ? answer_token(call)
                : oauth && call.segments[2] == "authorize" ? answer_consent(call)
                                                           : answer_api(call);
  const unsigned recorded = reply.drop ? 0 : reply.status;
  billing_.record_request(call.endpoint, recorded,
                          reply.drop ? BillingCategory::kFree : call.category, call.vin,
                          call.bearer.partner ? std::string("partner") : call.bearer.account);
  reply.delay += std::chrono::milliseconds(latency_ms() + call.extra_latency_ms);
  return reply;
}

Reply FleetApi::answer_token(Call& call) {
  call.endpoint = "POST /oauth2/v3/token";
  if (call.req.method() != http::verb::post)
    return json_reply(405, json::object{{"error", "method_not_allowed"}});
  const auto form = parse_form(call.req.body());
  const auto audience = form.find("audience");
  const TokenAnswer a = tokens_.token_endpoint(
      form, audience != form.end() && audience_is_region(call, audience->second));
  Reply r;
  r.status = a.status;
  r.body = a.body;
  return r;
}

bool FleetApi::audience_is_region(const Call& call, const std::string& audience) const {
  std::string a = audience;
  while (a.ends_with('/')) a.pop_back();
  const std::string na = base_url(call, "na");
  if (a == na.substr(0, na.size() - std::string_view("/na").size())) return true;  // no prefix
  for (const char* region : {"na", "eu", "cn"})
    if (a == base_url(call, region)) return true;
  return a == "https://fleet-api.prd.na.vn.cloud.tesla.com" ||
         a == "https://fleet-api.prd.eu.vn.cloud.tesla.com" ||
         a == "https://fleet-api.prd.cn.vn.cloud.tesla.cn";
}

Reply FleetApi::answer_consent(Call& call) {
  const auto method = call.req.method();
  if (call.segments.size() == 3 && method == http::verb::get) {
    call.endpoint = "GET /oauth2/v3/authorize";
    return consent_.authorize(call.query);
  }
  if (call.segments.size() == 4 && call.segments[3] == "decision" && method == http::verb::post) {
    call.endpoint = "POST /oauth2/v3/authorize/decision";
    return consent_.decide(parse_form(call.req.body()));
  }
  call.endpoint = "unknown";
  return json_reply(405, json::object{{"error", "method_not_allowed"}});
}

Reply FleetApi::answer_api(Call& call) {
  const auto& s = call.segments;
  const auto method = call.req.method();
  using V = http::verb;
  enum class Kind { kUser, kPartner, kEither };
  Kind kind = Kind::kUser;
  bool account_level = false;
  Reply (FleetApi::*handler)(Call&) = nullptr;
  std::string car_key;

  auto route = [&](std::string endpoint, BillingCategory category, Reply (FleetApi::*h)(Call&)) {
    call.endpoint = std::move(endpoint);
    call.category = category;
    handler = h;
  };
  const bool api = s.size() >= 3 && s[0] == "api" && s[1] == "1";
  if (api && s.size() == 4 && s[2] == "users" && s[3] == "region" && method == V::get) {
    route("GET /api/1/users/region", BillingCategory::kData, &FleetApi::answer_region);
    account_level = true;
  } else if (api && s.size() == 3 && s[2] == "vehicles" && method == V::get) {
    route("GET /api/1/vehicles", BillingCategory::kData, &FleetApi::answer_vehicles);
    account_level = true;
  } else if (api && s.size() == 4 && s[2] == "vehicles" && s[3] == "fleet_status" &&
             method == V::post) {
    route("POST /api/1/vehicles/fleet_status", BillingCategory::kData,
          &FleetApi::answer_fleet_status);
    account_level = true;
    kind = Kind::kEither;
  } else if (api && s.size() == 4 && s[2] == "vehicles" && s[3] == "fleet_telemetry_config_jws" &&
             method == V::post) {
    route("POST /api/1/vehicles/fleet_telemetry_config_jws", BillingCategory::kCommand,
          &FleetApi::answer_config_jws);
  } else if (api && s.size() == 4 && s[2] == "vehicles" && s[3] == "fleet_telemetry_config" &&
             method == V::post) {
    route("POST /api/1/vehicles/fleet_telemetry_config", BillingCategory::kCommand, nullptr);
  } else if (api && s.size() == 4 && s[2] == "vehicles" && method == V::get) {
    route("GET /api/1/vehicles/{id}", BillingCategory::kData, &FleetApi::answer_vehicle);
    car_key = s[3];
  } else if (api && s.size() == 5 && s[2] == "vehicles" && s[4] == "vehicle_data" &&
             method == V::get) {
    route("GET /api/1/vehicles/{id}/vehicle_data", BillingCategory::kData,
          &FleetApi::answer_vehicle_data);
    car_key = s[3];
  } else if (api && s.size() == 5 && s[2] == "vehicles" && s[4] == "wake_up" && method == V::post) {
    route("POST /api/1/vehicles/{id}/wake_up", BillingCategory::kWake, &FleetApi::answer_wake_up);
    car_key = s[3];
  } else if (api && s.size() == 5 && s[2] == "vehicles" && s[4] == "fleet_telemetry_config" &&
             method == V::get) {
    route("GET /api/1/vehicles/{vin}/fleet_telemetry_config", BillingCategory::kData,
          &FleetApi::answer_config_get);
    car_key = s[3];
  } else if (api && s.size() == 5 && s[2] == "vehicles" && s[4] == "fleet_telemetry_config" &&
             method == V::delete_) {
    route("DELETE /api/1/vehicles/{vin}/fleet_telemetry_config", BillingCategory::kCommand,
          &FleetApi::answer_config_delete);
    car_key = s[3];
  } else if (api && s.size() == 3 && s[2] == "partner_accounts" && method == V::post) {
    route("POST /api/1/partner_accounts", BillingCategory::kFree,
          &FleetApi::answer_partner_register);
    kind = Kind::kPartner;
  } else if (api && s.size() == 4 && s[2] == "partner_accounts" &&
             s[3] == "fleet_telemetry_errors" && method == V::get) {
    route("GET /api/1/partner_accounts/fleet_telemetry_errors", BillingCategory::kData,
          &FleetApi::answer_telemetry_errors);
    kind = Kind::kPartner;
  } else {
    call.endpoint = "unknown";
    return envelope_error(404, "not_found", "no such endpoint: " + call.path);
  }
  if (account_level && !options_.bill_account_calls) call.category = BillingCategory::kFree;

  // Authentication: an unknown token names no one to bill.
  const auto auth = call.req.find(http::field::authorization);
  std::string_view token;
  if (auth != call.req.end() && auth->value().starts_with("Bearer "))
    token = auth->value().substr(7);
  call.bearer = tokens_.check_bearer(token);
  // A request Tesla cannot authenticate is not billed (the mock's reading of the price list).
  if (call.bearer.state != BearerState::kValid) {
    call.category = BillingCategory::kFree;
    if (call.bearer.state == BearerState::kUnknown)
      return json_reply(401, json::object{{"error", "invalid bearer token"}});
    return json_reply(401, json::object{{"error", "token expired"}});
  }
  if (kind == Kind::kPartner && !call.bearer.partner)
    return envelope_error(403, "this endpoint requires a partner authentication token");
  if (kind == Kind::kUser && call.bearer.partner)
    return envelope_error(403, "this endpoint requires a third-party user token");
  if (!call.bearer.partner && !call.bearer.has_scope("vehicle_device_data") &&
      handler != &FleetApi::answer_region)
    return envelope_error(403, "Unauthorized missing scopes");

  // Region: a user's data lives in one region; the others answer 421 naming it.
  if (!call.bearer.partner && handler != &FleetApi::answer_region) {
    const auto profile = tokens_.account(call.bearer.account);
    const std::string home = profile ? profile->region : "na";
    if (home != call.region) {
      const std::string base = base_url(call, home);
      Reply r = envelope_error(421, "user out of region, use base URL: " + base +
                                        ", see https://developer.tesla.com/docs/fleet-api#"
                                        "regional-requirements");
      r.headers.emplace_back("Alt-Svc", "h2=" + base);
      return r;
    }
  }
  if (handler != &FleetApi::answer_partner_register) {
    std::lock_guard lock(mu_);
    if (!registered_regions_.count(call.region))
      return envelope_error(412, "Account " + options_.tokens.client_id +
                                     " must be registered in the current region " + call.region +
                                     " (POST /api/1/partner_accounts)");
  }

  if (!car_key.empty()) {
    call.car = fleet_.find(car_key);
    if (!call.car || !fleet_.owns(call.bearer.account, call.car->vin))
      return envelope_error(404, car_key + " not_found");
    call.vin = call.car->vin;
  }

  RequestScope scope{call.vin, call.car ? call.car->id : 0,
                     call.bearer.partner ? std::string() : call.bearer.account, call.path};
  if (const auto decision = injections_.decide(scope)) {
    call.extra_latency_ms = decision->latency_ms;
    if (decision->drop || decision->status != 0) return injected(call, *decision);
  }

  if (!handler)
    return envelope_error(412,
                          "fleet_telemetry_config must be signed: post a Tesla.SS256 JWS to "
                          "/api/1/vehicles/fleet_telemetry_config_jws");
  return (this->*handler)(call);
}

Reply FleetApi::injected(Call& call, const InjectionDecision& d) {
  Reply r;
  if (d.drop) {
    r.drop = true;
    return r;
  }
  r.status = d.status;
  switch (d.status) {
    case 408:
      r.body = kAsleepBody;
      call.category = BillingCategory::kData;
      break;
    case 429: {
      const int after = d.retry_after_s > 0 ? d.retry_after_s : 60;
      r.content_type = "text/plain; charset=utf-8";
      r.body = "Retry in " + std::to_string(after) + " seconds";
      r.headers = {{"Retry-After", std::to_string(after)},
                   {"RateLimit-Limit", std::to_string(options_.rate_limit_limit)},
                   {"RateLimit-Remaining", "0"},
                   {"RateLimit-Reset", std::to_string(after)}};
      break;
    }
    case 401:
      r.body = R"({"error":"token expired"})";
      call.category = BillingCategory::kFree;  // as for a real 401
      break;
    case 500:
    case 503:
      r.body = kAsleepBody;  // seen with these codes too [VC#226]
      break;
    default:
      r = envelope_error(d.status,
                         std::string(http::obsolete_reason(static_cast<http::status>(d.status))));
      if (d.status == 540) r.body = envelope_error(540, "device unexpected response").body;
  }
  if (!d.body.empty()) r.body = d.body;
  return r;
}

Reply FleetApi::answer_region(Call& call) {
  const auto profile = tokens_.account(call.bearer.account);
  const std::string region = call.bearer.partner || !profile ? "na" : profile->region;
  return response_reply(
      json::object{{"region", region}, {"fleet_api_base_url", base_url(call, region)}});
}

Reply FleetApi::answer_vehicles(Call& call) {
  const auto cars = fleet_.cars_of(call.bearer.account);
  int per_page = options_.vehicles_per_page, page = 1;
  try {
    if (call.query.count("per_page")) per_page = std::stoi(call.query["per_page"]);
    if (call.query.count("page")) page = std::stoi(call.query["page"]);
  } catch (const std::exception&) {
    return envelope_error(400, "page and per_page must be integers");
  }
  if (per_page < 1 || page < 1) return envelope_error(400, "page and per_page must be >= 1");
  const size_t total = cars.size();
  const size_t pages = (total + size_t(per_page) - 1) / size_t(per_page);
  json::array list;
  for (size_t i = size_t(page - 1) * size_t(per_page);
       i < total && i < size_t(page) * size_t(per_page); ++i)
    list.push_back(render_vehicle_summary(*cars[i], fleet_.state(cars[i]->vin)));
  json::value next = nullptr, previous = nullptr;
  if (size_t(page) < pages) next = page + 1;
  if (page > 1) previous = page - 1;
  return json_reply(200, json::object{{"response", std::move(list)},
                                      {"pagination",
                                       {{"previous", previous},
                                        {"next", next},
                                        {"current", page},
                                        {"per_page", per_page},
                                        {"count", total},
                                        {"pages", pages}}},
                                      {"count", total}});
}

Reply FleetApi::answer_vehicle(Call& call) {
  return response_reply(render_vehicle_summary(*call.car, fleet_.state(call.vin)));
}

Reply FleetApi::answer_vehicle_data(Call& call) {
  const std::string state = fleet_.state(call.vin);
  if (state != "online") {
    Reply r;
    r.status = 408;
    r.body = kAsleepBody;
    return r;
  }
  VehicleDataRequest request;
  bool location_asked = false;
  if (auto it = call.query.find("endpoints"); it != call.query.end()) {
    request.all_sections = false;
    std::string_view list = it->second;
    while (!list.empty()) {
      const size_t sep = list.find_first_of(";,");
      const std::string_view name = list.substr(0, sep);
      if (name == "location_data")
        location_asked = true;
      else if (vehicle_data_sections().count(name))
        request.sections.emplace(name);
      else if (!name.empty())
        return envelope_error(400, "invalid endpoint: " + std::string(name));
      if (sep == std::string_view::npos) break;
      list.remove_prefix(sep + 1);
    }
  }
  request.location = location_asked && call.bearer.has_scope("vehicle_location");
  return response_reply(render_vehicle_data(*call.car, request, state, now_ms()));
}

Reply FleetApi::answer_wake_up(Call& call) {
  return response_reply(render_vehicle_summary(*call.car, fleet_.wake(call.vin)));
}

Reply FleetApi::answer_fleet_status(Call& call) {
  const auto body = parse_body_object(call.req);
  const auto vins = body ? string_array(*body, "vins") : std::nullopt;
  if (!vins) return envelope_error(400, "body must be {\"vins\":[\"<VIN>\",...]}");
  json::array paired, unpaired;
  json::object info;
  for (const auto& key : *vins) {
    const CarRecord* car = fleet_.find(key);
    if (!car || (!call.bearer.partner && !fleet_.owns(call.bearer.account, car->vin)))
      return envelope_error(404, key + " not_found");
    const bool key_ok = fleet_.key_paired(car->vin);
    (key_ok ? paired : unpaired).emplace_back(car->vin);
    const std::string fw = fleet_.firmware(car->vin);
    info[car->vin] = json::object{{"firmware_version", fw},
                                  {"fleet_telemetry_version", "1.1.0"},
                                  {"discounted_device_data", false},
                                  {"safety_screen_streaming_toggle_enabled", nullptr},
                                  {"vehicle_command_protocol_required", true},
                                  {"total_number_of_keys", key_ok ? 3 : 2}};
  }
  return response_reply(json::object{{"key_paired_vins", std::move(paired)},
                                     {"unpaired_vins", std::move(unpaired)},
                                     {"vehicle_info", std::move(info)}});
}

Reply FleetApi::answer_config_jws(Call& call) {
  const auto body = parse_body_object(call.req);
  const auto vins = body ? string_array(*body, "vins") : std::nullopt;
  const json::value* token = body ? body->if_contains("token") : nullptr;
  if (!vins || vins->empty() || !token || !token->is_string())
    return envelope_error(400, "body must be {\"vins\":[\"<VIN>\",...],\"token\":\"<JWS>\"}");
  auto checked = check_telemetry_jws(token->as_string(), options_.partner_public_key);
  if (!checked.ok) return envelope_error(412, checked.error);
  checked.claims.erase("iss");
  checked.claims.erase("aud");
  if (const std::string problem = telemetry_config_problem(checked.claims); !problem.empty())
    return envelope_error(400, problem);
  std::vector<std::string> resolved;
  for (const auto& key : *vins) {
    const CarRecord* car = fleet_.find(key);
    if (!car || !fleet_.owns(call.bearer.account, car->vin))
      return envelope_error(404, key + " not_found");
    resolved.push_back(car->vin);
  }
  const auto result = fleet_.apply_telemetry_config(resolved, checked.claims);
  json::object skipped;
  for (const auto& [reason, list] : result.skipped) {
    json::array a;
    for (const auto& v : list) a.emplace_back(v);
    skipped[reason] = std::move(a);
  }
  return response_reply(
      json::object{{"updated_vehicles", result.updated}, {"skipped_vehicles", std::move(skipped)}});
}

Reply FleetApi::answer_config_get(Call& call) {
  return response_reply(fleet_.telemetry_config_status(call.vin));
}

Reply FleetApi::answer_config_delete(Call& call) {
  return response_reply(
      json::object{{"updated_vehicles", fleet_.delete_telemetry_config(call.vin) ? 1 : 0}});
}

Reply FleetApi::answer_telemetry_errors(Call&) {
  json::array list;
  for (const auto& e : fleet_.telemetry_errors())
    list.push_back(json::object{{"name", e.name}, {"error", e.error}, {"vin", e.vin}});
  return response_reply(json::object{{"fleet_telemetry_errors", std::move(list)}});
}

Reply FleetApi::answer_partner_register(Call& call) {
  const auto body = parse_body_object(call.req);
  const std::string domain = body ? string_member(*body, "domain") : std::string();
  if (domain.empty()) return envelope_error(400, "body must be {\"domain\":\"<domain>\"}");
  {
    std::lock_guard lock(mu_);
    registered_regions_.insert(call.region);
  }
  return response_reply(json::object{{"domain", domain}, {"region", call.region}});
}

Reply FleetApi::answer_control(Call& call) {
  const auto method = call.req.method();
  using V = http::verb;
  auto bad = [](const std::string& why) { return json_reply(400, json::object{{"error", why}}); };
  auto ok = [] { return json_reply(200, json::object{{"ok", true}}); };
  if (call.path == "/stats" && method == V::get)
    return json_reply(200, billing_.stats(injections_.window_violations()));
  if (call.path == "/mock/reset-stats" && method == V::post) {
    billing_.reset();
    return ok();
  }
  if (call.path == "/mock/tokens" && method == V::get) {
    json::array list;
    for (const IssuedToken& t : tokens_.issued())
      list.push_back(json::object{{"seq", t.seq},
                                  {"kind", t.kind},
                                  {"account", t.account},
                                  {"generation", t.generation},
                                  {"refresh_token", t.refresh_token},
                                  {"access_token", t.access_token},
                                  {"issued_at_ms", t.issued_at_ms},
                                  {"refresh_uses", t.refresh_uses},
                                  {"access_uses", t.access_uses}});
    json::array codes;
    for (const IssuedCode& c : tokens_.codes())
      codes.push_back(json::object{{"code", c.code},
                                   {"account", c.account},
                                   {"redirect_uri", c.redirect_uri},
                                   {"pkce", c.pkce},
                                   {"seeded", c.seeded},
                                   {"issued_at_ms", c.issued_at_ms},
                                   {"expires_at_ms", c.expires_at_ms},
                                   {"used", !c.outcome.empty()},
                                   {"outcome", c.outcome}});
    return json_reply(200, json::object{{"tokens", std::move(list)}, {"codes", std::move(codes)}});
  }
  if (call.path == "/mock/cars" && method == V::get) {
    json::array cars;
    for (const auto& car : fleet_.cars())
      cars.push_back(json::object{{"vin", car.vin},
                                  {"id", car.id},
                                  {"state", fleet_.state(car.vin)},
                                  {"capture", car.source.filename().string()}});
    return json_reply(200, json::object{{"cars", std::move(cars)}});
  }
  if (call.path == "/mock/inject" && method == V::delete_) {
    injections_.clear();
    return ok();
  }
  const auto body = parse_body_object(call.req);
  if (method != V::post) return json_reply(404, json::object{{"error", "no such control"}});
  if (!body) return bad("body must be a JSON object");
  try {
    if (call.path == "/mock/inject") {
      injections_.add(injection_rule_from_json(*body));
      return ok();
    }
    if (call.path == "/mock/state") {
      const std::string car = string_member(*body, "vin");
      const std::string state = string_member(*body, "state");
      if (car == "*") {
        for (const auto& c : fleet_.cars()) fleet_.set_state(c.vin, state);
        return ok();
      }
      if (!fleet_.find(car)) return bad("no car with VIN or id '" + car + "'");
      fleet_.set_state(car, state);
      return ok();
    }
    if (call.path == "/mock/revoke") {
      const std::string account = string_member(*body, "account");
      tokens_.revoke(account.empty() ? "default" : account);
      return ok();
    }
    if (call.path == "/mock/account-region") {
      const std::string account = string_member(*body, "account");
      const std::string region = string_member(*body, "region");
      if (region != "na" && region != "eu" && region != "cn")
        return bad("region must be na, eu or cn");
      tokens_.set_region(account.empty() ? "default" : account, region);
      return ok();
    }
    if (call.path == "/mock/accept-refresh-token") {
      const std::string token = string_member(*body, "token");
      const std::string account = string_member(*body, "account");
      if (token.empty()) return bad("token is required");
      tokens_.accept_refresh_token(token, account.empty() ? "default" : account);
      return ok();
    }
    if (call.path == "/mock/accept-auth-code") {
      const std::string code = string_member(*body, "code");
      const std::string account = string_member(*body, "account");
      if (code.empty()) return bad("code is required");
      tokens_.accept_auth_code(code, account.empty() ? "default" : account);
      return ok();
    }
    if (call.path == "/mock/drop-config") {
      const std::string car = string_member(*body, "vin");
      if (!fleet_.find(car)) return bad("no car with VIN or id '" + car + "'");
      fleet_.drop_telemetry_config(car);
      return ok();
    }
    if (call.path == "/mock/telemetry-error") {
      TelemetryError e{string_member(*body, "vin"), string_member(*body, "name"),
                       string_member(*body, "error")};
      if (!fleet_.find(e.vin)) return bad("no car with VIN or id '" + e.vin + "'");
      fleet_.add_telemetry_error(std::move(e));
      return ok();
    }
  } catch (const std::invalid_argument& e) {
    return bad(e.what());
  }
  return json_reply(404, json::object{{"error", "no such control"}});
}

}  // namespace oemlink::mock_oem::tesla
