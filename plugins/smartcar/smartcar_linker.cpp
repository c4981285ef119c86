#include "smartcar_linker.hpp"

#include "client_auth.hpp"
#include "error_classifier.hpp"
#include "json_fields.hpp"
#include "signals_client.hpp"
#include "token_chain.hpp"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <set>
#include <stdexcept>
#include <vector>

namespace oemlink::smartcar {
namespace {

constexpr int kPageLimit = 50;  // Smartcar's largest page of GET /vehicles
constexpr int kMaxPages = 20;   // 1000 cars in one consent is far beyond any owner

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string url_decode(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '+') {
      out += ' ';
    } else if (in[i] == '%' && i + 2 < in.size() && hex_value(in[i + 1]) >= 0 &&
               hex_value(in[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(in[i + 1]) * 16 + hex_value(in[i + 2]));
      i += 2;
    } else {
      out += in[i];
    }
  }
  return out;
}

std::string random_grant_id() {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1)
    throw std::runtime_error("smartcar: no random bytes for the grant id");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) out += {kHex[b >> 4], kHex[b & 15]};
  return out;
}

const std::string* find_secret(const LinkSecrets& secrets, std::string_view key) {
  for (const auto& [k, v] : secrets)
    if (k == key) return &v;
  return nullptr;
}

void wipe(std::string& s) {
  OPENSSL_cleanse(s.data(), s.size());
}

// One vehicle listing: the user (when unknown), the pages of /vehicles, then each car's
// attributes and VIN, one request after another. Owned by its pending callback.
class VehicleListing : public std::enable_shared_from_this<VehicleListing> {
 public:
  using Step = std::function<void(VehicleListing&, const boost::json::value*)>;

  VehicleListing(std::shared_ptr<InstanceContext> ctx, std::string access, std::string user,
                 std::function<void(LinkVehiclesResult)> done)
      : ctx_(std::move(ctx)),
        access_(std::move(access)),
        user_(std::move(user)),
        done_(std::move(done)) {}
  ~VehicleListing() { wipe(access_); }

  void start() {
    if (!user_.empty()) return list_page(0);
    get(ctx_->settings->v2_base_url + "/user", "the Smartcar user", false,
        [](VehicleListing& self, const boost::json::value* doc) {
          self.user_ = std::string(json::text(doc, "id"));
          if (self.user_.empty()) return self.malformed("GET /user answered without an id");
          self.list_page(0);
        });
  }

 private:
  void list_page(size_t offset) {
    get(ctx_->settings->v2_base_url + "/vehicles?limit=" + std::to_string(kPageLimit) +
            "&offset=" + std::to_string(offset),
        "the vehicle list", false, [offset](VehicleListing& self, const boost::json::value* doc) {
          self.on_page(offset, doc);
        });
  }

  void on_page(size_t offset, const boost::json::value* doc) {
    const boost::json::array* ids = json::array(json::member(doc, "vehicles"));
    if (!ids) return malformed("GET /vehicles answered without a vehicles list");
    size_t got = 0;
    for (const boost::json::value& v : *ids) {
      auto id = json::string(&v);
      if (!id || id->empty()) continue;
      ++got;
      if (seen_.insert(std::string(*id)).second) ids_.emplace_back(*id);
    }
    ++pages_;
    const auto total = json::number(json::member(json::member(doc, "paging"), "count"));
    const bool more = got > 0 && total && static_cast<double>(offset + got) < *total;
    if (more && pages_ < kMaxPages) return list_page(offset + got);
    if (more) {
      ctx_->host.count("link_vehicles_truncated");
      ctx_->host.log(OEMLINK_LOG_WARN, "smartcar: a consent covers more than " +
                                           std::to_string(kMaxPages * kPageLimit) +
                                           " vehicles; only the first ones are listed");
    }
    next_vehicle();
  }

  void next_vehicle() {
    if (index_ == ids_.size()) {
      ctx_->host.count("link_vehicles_listed", result_.vehicles.size());
      result_.status = OEMLINK_OK;
      return finish();
    }
    const std::string base = ctx_->settings->v2_base_url + "/vehicles/" + url_encode(ids_[index_]);
    get(base, "vehicle " + ids_[index_], false,
        [base](VehicleListing& self, const boost::json::value* doc) {
          LinkVehicle v;
          v.vehicle_id = self.ids_[self.index_];
          v.make = std::string(json::text(doc, "make"));
          v.model = std::string(json::text(doc, "model"));
          const auto year = json::number(json::member(doc, "year"));
          if (year && *year > 0 && *year < 10000 && std::floor(*year) == *year)
            v.year = static_cast<uint32_t>(*year);
          self.current_ = std::move(v);
          // The VIN needs read_vin, and some makes cannot give it: then the car is listed
          // without one (the host matches re-links by vehicle id first).
          self.get(
              base + "/vin", "the VIN of vehicle " + self.ids_[self.index_], true,
              [](VehicleListing& me, const boost::json::value* vin_doc) { me.on_vin(vin_doc); });
        });
  }

  void on_vin(const boost::json::value* doc) {
    LinkVehicle v = std::move(current_);
    v.vin = doc ? std::string(json::text(doc, "vin")) : std::string();
    if (v.vin.empty()) ctx_->host.count("link_vin_missing");
    std::string name;
    for (const std::string& part :
         {v.year ? std::to_string(v.year) : std::string(), v.make, v.model})
      if (!part.empty()) name += (name.empty() ? "" : " ") + part;
    v.display_name = std::move(name);
    v.identifiers_json = boost::json::serialize(
        boost::json::object{{"smartcar_id", v.vehicle_id}, {"smartcar_user", user_}});
    result_.vehicles.push_back(std::move(v));
    ++index_;
    next_vehicle();
  }

  // GET `url`; on 200 `next` gets the parsed body. `optional`: a refusal that only says this
  // resource is unavailable (403 permission, 404, 501 not capable) gives `next` a null instead.
  void get(const std::string& url, std::string what, bool optional, Step next) {
    const int64_t now = ctx_->host.now_ms();
    if (!ctx_->budget.try_take(now)) {
      ctx_->host.count("budget_exhausted");
      const int64_t wait_s = (ctx_->budget.next_token_at(now) - now + 999) / 1000;
      return fail(OEMLINK_RETRY,
                  "Smartcar's request budget of this application is used up; try linking again "
                  "in " +
                      std::to_string(wait_s) + " s");
    }
    HttpRequest req;
    req.url = url;
    req.timeout_ms = static_cast<uint32_t>(ctx_->settings->request_timeout.count());
    req.headers = {{"Authorization", "Bearer " + access_},
                   {"Accept", "application/json"},
                   {"User-Agent", "oemlink-smartcar/0.1"}};
    ctx_->host.count("link_requests");
    auto self = shared_from_this();
    const bool started = ctx_->host.http(
        nullptr, req, [self, what = std::move(what), optional, next](const HttpResponse& r) {
          self->on_answer(r, what, optional, next);
        });
    wipe(req.headers[0].second);
    if (!started) fail(OEMLINK_ERROR, "the host refused a Smartcar request");
  }

  void on_answer(const HttpResponse& r, const std::string& what, bool optional, const Step& next) {
    if (r.status != OEMLINK_OK) {
      ctx_->host.count("transport_failures");
      return fail(OEMLINK_RETRY, "Smartcar could not be reached while reading " + what + ": " +
                                     std::string(r.error.substr(0, 200)));
    }
    if (r.http_status == 200) {
      boost::system::error_code ec;
      boost::json::value doc = boost::json::parse(r.body, ec);
      if (ec || !doc.is_object()) return malformed(what + " is not a JSON object");
      return next(*this, &doc);
    }
    ctx_->host.count("api_errors");
    SmartcarError e =
        classify_error(r.http_status, r.body, r.header("retry-after"), ctx_->host.now_ms());
    if (optional && (r.http_status == 403 || r.http_status == 404 || r.http_status == 501))
      return next(*this, nullptr);
    if (e.action == ErrorAction::rate_limited && e.app_wide && e.until_ms)
      ctx_->budget.block_until(e.until_ms, ctx_->host.now_ms());
    const bool retry = e.action == ErrorAction::rate_limited || e.action == ErrorAction::transient;
    fail(retry ? OEMLINK_RETRY : OEMLINK_ERROR,
         "Smartcar refused reading " + what + ": " + e.reason);
  }

  void malformed(const std::string& why) {
    ctx_->host.count("malformed_responses");
    fail(OEMLINK_RETRY, "smartcar: " + why);
  }

  void fail(oemlink_status status, std::string message) {
    ctx_->host.log(OEMLINK_LOG_WARN, "smartcar: listing the vehicles of a new consent: " + message);
    result_.status = status;
    result_.vehicles.clear();
    result_.message = std::move(message);
    finish();
  }

  void finish() {
    if (finished_) return;
    finished_ = true;
    done_(std::move(result_));
  }

  std::shared_ptr<InstanceContext> ctx_;
  std::string access_;
  std::string user_;
  std::function<void(LinkVehiclesResult)> done_;
  std::vector<std::string> ids_;
  std::set<std::string> seen_;
  size_t index_ = 0;
  int pages_ = 0;
  LinkVehicle current_;
  LinkVehiclesResult result_;
  bool finished_ = false;
};

LinkExchangeResult exchange_error(oemlink_status status, std::string message) {
  LinkExchangeResult r;
  r.status = status;
  r.message = std::move(message);
  return r;
}

LinkExchangeResult on_token_answer(InstanceContext& ctx, const HttpResponse& r,
                                   const std::string& user) {
  if (r.status != OEMLINK_OK) {
    ctx.host.count("transport_failures");
    return exchange_error(OEMLINK_RETRY, "Smartcar's token endpoint could not be reached: " +
                                             std::string(r.error.substr(0, 200)));
  }
  const int64_t now = ctx.host.now_ms();
  if (r.http_status != 200) {
    ctx.host.count("link_exchange_errors");
    SmartcarError e = classify_error(r.http_status, r.body, r.header("retry-after"), now);
    ctx.host.log(OEMLINK_LOG_WARN,
                 "smartcar: the code exchange of a new link was refused: " + e.reason);
    if (r.http_status == 400)
      return exchange_error(OEMLINK_ERROR,
                            "the authorization code was refused by Smartcar (expired or already "
                            "used): start again");
    if (r.http_status == 401)
      return exchange_error(OEMLINK_ERROR,
                            "Smartcar refused this application's client credentials: the "
                            "operator must check the client_id and client_secret settings");
    if (e.action == ErrorAction::rate_limited || e.action == ErrorAction::transient)
      return exchange_error(OEMLINK_RETRY, "Smartcar's token endpoint is unavailable (" + e.reason +
                                               "): try again shortly");
    return exchange_error(OEMLINK_ERROR, "Smartcar refused the code exchange: " + e.reason);
  }
  boost::system::error_code ec;
  boost::json::value doc = boost::json::parse(r.body, ec);
  auto access = json::string(json::member(&doc, "access_token"));
  auto refresh = json::string(json::member(&doc, "refresh_token"));
  auto expires_in = json::number(json::member(&doc, "expires_in"));
  if (ec || !access || access->empty() || !refresh || refresh->empty()) {
    ctx.host.count("malformed_responses");
    return exchange_error(OEMLINK_ERROR,
                          "Smartcar's token endpoint answered without an access and a refresh "
                          "token: start again");
  }
  const double lifetime_s = expires_in && *expires_in > 0 && *expires_in < 1e7 ? *expires_in : 7200;
  LinkExchangeResult out;
  out.status = OEMLINK_OK;
  out.secrets = {
      {std::string(kAccessTokenKey), std::string(*access)},
      {std::string(kRefreshTokenKey), std::string(*refresh)},
      {std::string(kAccessExpiresKey),
       std::to_string(now + static_cast<int64_t>(lifetime_s * 1000))},
      {std::string(kIssuedAtKey), std::to_string(now)},
      {std::string(kGrantIdKey), random_grant_id()},
  };
  if (!user.empty()) out.secrets.emplace_back(std::string(kUserIdKey), user);
  ctx.host.count("link_code_exchanges");
  return out;
}

}  // namespace

std::string query_param(std::string_view query, std::string_view key) {
  if (query.starts_with('?')) query.remove_prefix(1);
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view item = query.substr(0, amp);
    const size_t eq = item.find('=');
    if (url_decode(item.substr(0, eq)) == key)
      return eq == std::string_view::npos ? std::string() : url_decode(item.substr(eq + 1));
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return {};
}

std::string SmartcarLinker::authorize_url(const LinkAuthorize& request) {
  const SmartcarSettings& s = *ctx_->settings;
  if (request.state.empty()) throw std::invalid_argument("smartcar: the link has no state");
  if (!request.redirect_uri.starts_with("https://") && !request.redirect_uri.starts_with("http://"))
    throw std::invalid_argument("smartcar: the redirect URI must be an absolute http(s) URL");
  std::string url = s.connect_base_url +
                    "/oauth/authorize?response_type=code&client_id=" + url_encode(s.client_id) +
                    "&redirect_uri=" + url_encode(request.redirect_uri) +
                    "&scope=" + url_encode(s.scope) + "&state=" + url_encode(request.state) +
                    "&mode=" + s.mode;
  // Re-authentication of one car: force the consent screen and let the owner pick one car only
  // (the host checks it is the same vehicle id). Smartcar's single_select_vin would pin the car,
  // but the host passes only the vehicle id.
  if (request.vehicle_id.empty())
    url += "&approval_prompt=auto";
  else
    url += "&approval_prompt=force&single_select=true";
  return url;
}

void SmartcarLinker::exchange_code(const LinkCallback& callback,
                                   std::function<void(LinkExchangeResult)> done) {
  if (callback.code.empty()) {
    const std::string error = query_param(callback.query, "error");
    const std::string description = query_param(callback.query, "error_description");
    if (error.empty())
      return done(exchange_error(OEMLINK_ERROR, "Smartcar sent no authorization code"));
    return done(exchange_error(OEMLINK_ERROR,
                               "Smartcar Connect answered " + error.substr(0, 64) +
                                   (description.empty() ? "" : ": " + description.substr(0, 200))));
  }
  // Smartcar's redirect carries the user since API v3; without it list_vehicles asks /user.
  // The browser brought it, so it is only a label: token chains are keyed by our own grant_id
  // too, and a forged user_id cannot join another owner's chain. Odd values are dropped.
  std::string user = query_param(callback.query, "user_id");
  const bool id_like =
      user.size() <= 128 && std::all_of(user.begin(), user.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
      });
  if (!id_like) user.clear();
  const SmartcarSettings& s = *ctx_->settings;
  HttpRequest req;
  req.method = "POST";
  req.url = s.auth_base_url + "/oauth/token";
  req.timeout_ms = static_cast<uint32_t>(s.request_timeout.count());
  req.headers = {{"Authorization", basic_auth(s.client_id, s.client_secret)},
                 {"Content-Type", "application/x-www-form-urlencoded"},
                 {"Accept", "application/json"},
                 {"User-Agent", "oemlink-smartcar/0.1"}};
  req.body = "grant_type=authorization_code&code=" + url_encode(callback.code) +
             "&redirect_uri=" + url_encode(callback.redirect_uri);
  auto ctx = ctx_;
  auto shared_done = std::make_shared<std::function<void(LinkExchangeResult)>>(std::move(done));
  const bool started =
      ctx_->host.http(nullptr, req, [ctx, user, shared_done](const HttpResponse& r) {
        (*shared_done)(on_token_answer(*ctx, r, user));
      });
  wipe(req.body);
  wipe(req.headers[0].second);
  if (!started)
    (*shared_done)(exchange_error(OEMLINK_ERROR, "the host refused the Smartcar token request"));
}

void SmartcarLinker::list_vehicles(const LinkSecrets& secrets,
                                   std::function<void(LinkVehiclesResult)> done) {
  const std::string* access = find_secret(secrets, kAccessTokenKey);
  if (!access || access->empty()) {
    LinkVehiclesResult r;
    r.message = "smartcar: no access_token among the link's secrets";
    return done(std::move(r));
  }
  const std::string* user = find_secret(secrets, kUserIdKey);
  std::make_shared<VehicleListing>(ctx_, *access, user ? *user : std::string(), std::move(done))
      ->start();
}

}  // namespace oemlink::smartcar
