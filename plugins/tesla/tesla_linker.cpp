#include "tesla_linker.hpp"

#include "form_encoding.hpp"
#include "jwt_scope.hpp"
#include "link_vehicle_listing.hpp"
#include "token_answer.hpp"
#include "token_chain.hpp"
#include "vin_decoding.hpp"

#include <openssl/evp.h>

#include <boost/json.hpp>

#include <stdexcept>

namespace oemlink::tesla {
namespace {

constexpr const char* kCodeRefused =
    "the authorization code was refused by Tesla (expired or already used): start again";

std::string sha256_hex16(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr) != 1) return {};
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < 8 && i < len; ++i) {
    out += hex[digest[i] >> 4];
    out += hex[digest[i] & 15];
  }
  return out;
}

std::string secret_value(const LinkSecrets& secrets, std::string_view key) {
  for (const auto& [k, v] : secrets)
    if (k == key) return v;
  return {};
}

LinkExchangeResult exchange_error(oemlink_status status, std::string message) {
  LinkExchangeResult r;
  r.status = status;
  r.message = std::move(message);
  return r;
}

// What a non-200 answer of the code exchange means for the owner.
LinkExchangeResult refused_exchange(const HttpResponse& r) {
  const std::string code = oauth_error_code(r.body);
  const std::string named = code.empty() ? "HTTP " + std::to_string(r.http_status) : code;
  if (r.http_status >= 500 || r.http_status == 429)
    return exchange_error(OEMLINK_RETRY, "Tesla's token service is unavailable (" + named +
                                             "): try linking again later");
  if (code == "invalid_client" || code == "unauthorized_client")
    return exchange_error(OEMLINK_ERROR, "Tesla refused this service's client credentials (" +
                                             code +
                                             "): the operator must check the tesla "
                                             "driver's client_id and client_secret");
  if (code == "invalid_auth_code" || r.http_status == 400 || r.http_status == 401)
    return exchange_error(OEMLINK_ERROR, std::string(kCodeRefused) + " (" + named + ")");
  return exchange_error(OEMLINK_ERROR, "Tesla refused the code exchange (" + named + ")");
}

}  // namespace

std::string link_account_name(const std::string& access_token, const std::string& refresh_token) {
  if (auto sub = jwt_subject(access_token)) return *sub;
  if (refresh_token.empty()) return {};
  const std::string digest = sha256_hex16(refresh_token);
  return digest.empty() ? std::string() : "consent:" + digest;
}

TeslaLinker::TeslaLinker(Host host, std::shared_ptr<const TeslaSettings> settings)
    : host_(host), settings_(std::move(settings)) {}

void TeslaLinker::require_client_credentials() const {
  if (settings_->client_id.empty())
    throw std::invalid_argument("tesla: cars cannot be linked: the client_id setting is empty");
  if (settings_->client_secret.empty())
    throw std::invalid_argument(
        "tesla: cars cannot be linked: the client_secret setting is empty (Tesla's code "
        "exchange needs it)");
}

std::string TeslaLinker::authorize_url(const LinkAuthorize& request) {
  require_client_credentials();
  // request.vehicle_id (re-authentication of one car) is not sent: Tesla's consent covers the
  // whole account, and the host finds the car again by vehicle_id in list_vehicles' answer.
  if (request.state.empty()) throw std::invalid_argument("tesla: linking needs a state");
  if (request.redirect_uri.empty())
    throw std::invalid_argument("tesla: linking needs a redirect URI");
  std::vector<std::pair<std::string_view, std::string_view>> query{
      {"response_type", "code"},
      {"client_id", settings_->client_id},
      {"redirect_uri", request.redirect_uri},
      {"scope", settings_->scopes},
      {"state", request.state}};
  if (!request.code_challenge.empty()) {
    query.emplace_back("code_challenge", request.code_challenge);
    query.emplace_back("code_challenge_method", "S256");
  }
  // A re-link keeps the owner's earlier grants and asks only for what the app gained since.
  query.emplace_back("prompt_missing_scopes", "true");
  return settings_->authorize_base_url + "/oauth2/v3/authorize?" + form_encode(query);
}

void TeslaLinker::exchange_code(const LinkCallback& callback,
                                std::function<void(LinkExchangeResult)> done) {
  require_client_credentials();
  if (callback.code.empty()) {
    done(exchange_error(OEMLINK_ERROR, "Tesla sent no authorization code back: start again"));
    return;
  }
  HttpRequest req;
  req.method = "POST";
  req.url = settings_->auth_base_url + "/oauth2/v3/token";
  req.headers = {{"Content-Type", "application/x-www-form-urlencoded"},
                 {"Accept", "application/json"}};
  std::vector<std::pair<std::string_view, std::string_view>> form{
      {"grant_type", "authorization_code"},        {"client_id", settings_->client_id},
      {"client_secret", settings_->client_secret}, {"code", callback.code},
      {"audience", settings_->fleet_api_base_url}, {"redirect_uri", callback.redirect_uri}};
  if (!callback.code_verifier.empty()) form.emplace_back("code_verifier", callback.code_verifier);
  req.body = form_encode(form);
  req.timeout_ms = uint32_t(settings_->http_timeout_ms);
  const Host host = host_;
  auto shared_done = std::make_shared<std::function<void(LinkExchangeResult)>>(std::move(done));
  const bool started = host_.http(nullptr, req, [host, shared_done](const HttpResponse& r) {
    auto& done = *shared_done;
    if (r.status != OEMLINK_OK) {
      host.count("link_exchange_failures");
      done(exchange_error(OEMLINK_RETRY, "Tesla's token service could not be reached (" +
                                             std::string(r.error.substr(0, 120)) +
                                             "): try linking again later"));
      return;
    }
    if (r.http_status != 200) {
      LinkExchangeResult refused = refused_exchange(r);
      host.count(refused.status == OEMLINK_RETRY ? "link_exchange_failures"
                                                 : "link_exchange_refused");
      host.log(OEMLINK_LOG_WARN, "tesla: linking: code exchange answered HTTP " +
                                     std::to_string(r.http_status) + ": " + refused.message);
      done(std::move(refused));
      return;
    }
    const TokenAnswer answer = parse_token_answer(r.body);
    if (!answer.well_formed || answer.refresh_token.empty()) {
      // The code is spent either way: Tesla does not take it twice.
      host.count("link_exchange_bad_answers");
      done(exchange_error(OEMLINK_ERROR,
                          answer.well_formed
                              ? "Tesla issued no refresh token: the app must ask for the "
                                "offline_access scope (tesla setting `scopes`); start again"
                              : "Tesla's token answer was malformed: start again"));
      return;
    }
    const int64_t now = host.now_ms();
    LinkExchangeResult ok;
    ok.status = OEMLINK_OK;
    ok.secrets = {{kAccessTokenKey, answer.access_token},
                  {kRefreshTokenKey, answer.refresh_token},
                  {kAccessExpiresKey, std::to_string(now + answer.lifetime_ms)},
                  {kIssuedAtKey, std::to_string(now)}};
    host.count("link_exchanges");
    done(std::move(ok));
  });
  if (!started) (*shared_done)(exchange_error(OEMLINK_RETRY, "the host refused the token request"));
}

void TeslaLinker::list_vehicles(const LinkSecrets& secrets,
                                std::function<void(LinkVehiclesResult)> done) {
  const std::string access = secret_value(secrets, kAccessTokenKey);
  const std::string refresh = secret_value(secrets, kRefreshTokenKey);
  if (access.empty()) {
    LinkVehiclesResult r;
    r.message = "tesla: the link's secrets hold no access_token";
    done(std::move(r));
    return;
  }
  std::string account = link_account_name(access, refresh);
  if (account.empty()) {
    LinkVehiclesResult r;
    r.message = "tesla: the link's secrets hold no refresh_token";
    done(std::move(r));
    return;
  }
  const Host host = host_;
  LinkVehicleListing::start(
      host_, settings_, access, account,
      [host, account, done = std::move(done)](const ApiOutcome& o,
                                              std::vector<VehicleEntry> vehicles) {
        LinkVehiclesResult r;
        switch (o.kind) {
          case ApiOutcome::Kind::ok:
            r.status = OEMLINK_OK;
            break;
          case ApiOutcome::Kind::retry:
          case ApiOutcome::Kind::rate_limited:
          case ApiOutcome::Kind::misdirected:
          case ApiOutcome::Kind::asleep:
            r.status = OEMLINK_RETRY;
            r.message = "Tesla's vehicle list is unavailable (" + o.reason + "): try again later";
            break;
          case ApiOutcome::Kind::unauthorized:
          case ApiOutcome::Kind::reauth:
            r.status = OEMLINK_ERROR;
            r.message = "Tesla refused the new access token (" + o.reason + "): start again";
            break;
          case ApiOutcome::Kind::failed:
            r.status = OEMLINK_ERROR;
            r.message = "Tesla refused the vehicle list (" + o.reason + ")";
            break;
        }
        if (r.status != OEMLINK_OK) {
          host.count("link_list_failures");
          done(std::move(r));
          return;
        }
        for (VehicleEntry& e : vehicles) {
          LinkVehicle v;
          v.vehicle_id = e.id;
          v.vin = e.vin;
          v.display_name = e.display_name;
          v.identifiers_json =
              boost::json::serialize(boost::json::object{{"tesla_id", e.id}, {"account", account}});
          v.make = "Tesla";
          v.model = model_from_vin(e.vin);
          v.year = model_year_from_vin(e.vin);
          r.vehicles.push_back(std::move(v));
        }
        host.count("link_vehicle_lists");
        done(std::move(r));
      });
}

}  // namespace oemlink::tesla
