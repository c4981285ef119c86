#include "tools/mock-oem/tesla/token_authority.hpp"

#include "tools/mock-oem/tesla/base64.hpp"

#include <openssl/rand.h>
#include <openssl/sha.h>

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace oemlink::mock_oem::tesla {
namespace {

namespace json = boost::json;

std::string random_bytes(size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1)
    throw std::runtime_error("RAND_bytes failed");
  return out;
}

std::string random_hex(size_t bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string raw = random_bytes(bytes), out;
  for (unsigned char c : raw) out += kHex[c >> 4], out += kHex[c & 15];
  return out;
}

std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

TokenAnswer error_answer(unsigned status, std::string_view error, std::string_view description,
                         std::string account = {}) {
  return {status,
          json::serialize(json::object{{"error", error}, {"error_description", description}}),
          std::move(account)};
}

std::string form_value(const std::map<std::string, std::string>& form, const char* key) {
  auto it = form.find(key);
  return it == form.end() ? std::string() : it->second;
}

int64_t unix_ms(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

// base64url(SHA-256(verifier)) without padding (RFC 7636, S256).
std::string s256_challenge(const std::string& verifier) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(verifier.data()), verifier.size(), digest);
  return base64url_encode(std::string_view(reinterpret_cast<const char*>(digest), sizeof digest));
}

std::vector<std::string> split_scopes(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    const size_t sp = text.find(' ');
    if (sp != 0) out.emplace_back(text.substr(0, sp));
    if (sp == std::string_view::npos) break;
    text.remove_prefix(sp + 1);
  }
  return out;
}

}  // namespace

bool Bearer::has_scope(std::string_view scope) const {
  return std::find(scopes.begin(), scopes.end(), scope) != scopes.end();
}

TokenAuthority::TokenAuthority(TokenAuthorityConfig config,
                               std::map<std::string, AccountProfile> accounts)
    : config_(std::move(config)) {
  for (auto& [name, profile] : accounts) accounts_[name].profile = std::move(profile);
}

TokenAuthority::Account& TokenAuthority::account_locked(const std::string& name) {
  auto [it, inserted] = accounts_.try_emplace(name);
  if (inserted && accounts_.count("default") && name != "default")
    it->second.profile = accounts_.at("default").profile;
  return it->second;
}

std::optional<AccountProfile> TokenAuthority::account(const std::string& name) const {
  std::lock_guard lock(mu_);
  auto it = accounts_.find(name);
  if (it == accounts_.end()) return std::nullopt;
  return it->second.profile;
}

void TokenAuthority::accept_refresh_token(const std::string& token, const std::string& account) {
  std::lock_guard lock(mu_);
  Account& a = account_locked(account);
  a.live_refresh.insert(token);
  refresh_[token] = RefreshRecord{account, Clock::now()};
  issued_by_refresh_[token] = issued_.size();
  issued_.push_back(IssuedToken{
      issued_.size() + 1, "seeded", account, a.generation, token, {}, unix_ms(Clock::now())});
}

std::vector<IssuedToken> TokenAuthority::issued() const {
  std::lock_guard lock(mu_);
  return issued_;
}

void TokenAuthority::accept_auth_code(const std::string& code, const std::string& account) {
  std::lock_guard lock(mu_);
  account_locked(account);
  const auto now = Clock::now();
  AuthCodeGrant grant;
  grant.account = account;
  auth_codes_[code] = CodeRecord{grant, now + config_.auth_code_lifetime, codes_.size()};
  codes_.push_back(IssuedCode{
      code, account, {}, false, true, unix_ms(now), unix_ms(now + config_.auth_code_lifetime), {}});
}

std::string TokenAuthority::issue_auth_code(AuthCodeGrant grant) {
  std::lock_guard lock(mu_);
  account_locked(grant.account);
  const auto now = Clock::now();
  const std::string code = "NA_" + random_hex(24);
  codes_.push_back(IssuedCode{code,
                              grant.account,
                              grant.redirect_uri,
                              !grant.code_challenge.empty(),
                              false,
                              unix_ms(now),
                              unix_ms(now + config_.auth_code_lifetime),
                              {}});
  auth_codes_[code] =
      CodeRecord{std::move(grant), now + config_.auth_code_lifetime, codes_.size() - 1};
  return code;
}

std::vector<IssuedCode> TokenAuthority::codes() const {
  std::lock_guard lock(mu_);
  return codes_;
}

void TokenAuthority::revoke(const std::string& account) {
  std::lock_guard lock(mu_);
  Account& a = account_locked(account);
  a.live_refresh.clear();
  ++a.generation;
}

void TokenAuthority::set_region(const std::string& account, const std::string& region) {
  std::lock_guard lock(mu_);
  account_locked(account).profile.region = region;
}

std::string TokenAuthority::new_access_token_locked(const std::string& subject,
                                                    const std::string& region,
                                                    const std::vector<std::string>& scopes,
                                                    bool partner, uint64_t generation,
                                                    const std::string& account) {
  const auto now = Clock::now();
  const auto expires = now + config_.access_lifetime;
  json::array scp;
  for (const auto& s : scopes) scp.emplace_back(s);
  const json::object header{{"alg", "RS256"}, {"typ", "JWT"}, {"kid", "mock-oem"}};
  const json::object claims{
      {"iss", "https://fleet-auth.prd.vn.cloud.tesla.com/oauth2/v3/nts"},
      {"azp", config_.client_id},
      {"sub", subject},
      {"aud", json::array{"https://fleet-api.prd.na.vn.cloud.tesla.com",
                          "https://fleet-api.prd.eu.vn.cloud.tesla.com"}},
      {"scp", std::move(scp)},
      {"ou_code", upper(region)},
      {"iat", std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count()},
      {"exp", std::chrono::duration_cast<std::chrono::seconds>(expires.time_since_epoch()).count()},
      {"jti", random_hex(8)}};
  std::string token = base64url_encode(json::serialize(header)) + "." +
                      base64url_encode(json::serialize(claims)) + "." +
                      base64url_encode(random_bytes(32));
  access_[token] = AccessRecord{account, generation, expires, scopes, partner};
  return token;
}

std::string TokenAuthority::issue_pair_locked(const std::string& account_name,
                                              const std::string& kind, bool with_refresh) {
  Account& a = account_locked(account_name);
  // One chain per user: the new pair voids every earlier refresh and access token.
  ++a.generation;
  a.live_refresh.clear();
  const std::string refresh = with_refresh ? upper(a.profile.region) + "_" + random_hex(32) : "";
  if (with_refresh) {
    a.live_refresh.insert(refresh);
    refresh_[refresh] = RefreshRecord{account_name, Clock::now()};
  }
  const std::string access = new_access_token_locked(
      account_name, a.profile.region, a.granted_scopes ? *a.granted_scopes : a.profile.scopes,
      false, a.generation, account_name);
  if (with_refresh) issued_by_refresh_[refresh] = issued_.size();
  issued_by_access_[access] = issued_.size();
  issued_.push_back(IssuedToken{issued_.size() + 1, kind, account_name, a.generation, refresh,
                                access, unix_ms(Clock::now())});
  json::object body{{"access_token", access},
                    {"refresh_token", refresh},
                    {"id_token", base64url_encode(random_bytes(24))},
                    {"expires_in", config_.access_lifetime.count()},
                    {"token_type", "Bearer"}};
  if (!with_refresh) body.erase("refresh_token");
  return json::serialize(body);
}

TokenAnswer TokenAuthority::redeem_code_locked(const std::map<std::string, std::string>& form) {
  auto it = auth_codes_.find(form_value(form, "code"));
  if (it == auth_codes_.end())
    return error_answer(400, "invalid_auth_code", "The authorization code is invalid or expired");
  // Single use: whatever this request gets, the code is gone.
  const CodeRecord record = std::move(it->second);
  auth_codes_.erase(it);
  IssuedCode& shown = codes_[record.index];
  const AuthCodeGrant& grant = record.grant;
  if (Clock::now() > record.expires) {
    shown.outcome = "expired";
    return error_answer(400, "invalid_auth_code", "The authorization code is invalid or expired",
                        grant.account);
  }
  if (!grant.redirect_uri.empty() && form_value(form, "redirect_uri") != grant.redirect_uri) {
    shown.outcome = "redirect_uri_mismatch";
    return error_answer(400, "invalid_grant",
                        "redirect_uri does not match the one of the authorize request",
                        grant.account);
  }
  if (!grant.code_challenge.empty()) {
    const std::string verifier = form_value(form, "code_verifier");
    const bool well_formed = verifier.size() >= 43 && verifier.size() <= 128 &&
                             std::all_of(verifier.begin(), verifier.end(), [](char c) {
                               return std::isalnum(static_cast<unsigned char>(c)) || c == '-' ||
                                      c == '.' || c == '_' || c == '~';
                             });
    if (!well_formed || s256_challenge(verifier) != grant.code_challenge) {
      shown.outcome = "pkce_failed";
      return error_answer(400, "invalid_grant",
                          verifier.empty() ? "code_verifier is required"
                                           : "code_verifier does not match the code_challenge",
                          grant.account);
    }
  }
  shown.outcome = "issued";
  Account& a = account_locked(grant.account);
  bool with_refresh = true;
  if (!grant.scopes.empty()) {
    a.granted_scopes = grant.scopes;
    with_refresh =
        std::find(grant.scopes.begin(), grant.scopes.end(), "offline_access") != grant.scopes.end();
  }
  return {200, issue_pair_locked(grant.account, "auth_code", with_refresh), grant.account};
}

TokenAnswer TokenAuthority::token_endpoint(const std::map<std::string, std::string>& form,
                                           bool audience_is_region) {
  const std::string grant = form_value(form, "grant_type");
  const std::string client_id = form_value(form, "client_id");
  std::lock_guard lock(mu_);
  if (grant == "refresh_token") {
    if (client_id.empty()) return error_answer(400, "invalid_request", "client_id is required");
    if (client_id != config_.client_id)
      return error_answer(401, "invalid_client", "Unknown client_id");
    const std::string token = form_value(form, "refresh_token");
    if (auto used = issued_by_refresh_.find(token); used != issued_by_refresh_.end())
      ++issued_[used->second].refresh_uses;
    auto it = refresh_.find(token);
    if (it == refresh_.end())
      return error_answer(400, "invalid_grant", "The refresh_token is invalid");
    const std::string account_name = it->second.account;
    Account& a = account_locked(account_name);
    if (!a.live_refresh.count(token) || Clock::now() - it->second.issued > config_.refresh_lifetime)
      return error_answer(401, "login_required", "Login required", account_name);
    TokenAnswer answer{200, issue_pair_locked(account_name, "refresh"), account_name};
    return answer;
  }
  if (grant == "authorization_code") {
    if (client_id != config_.client_id ||
        form_value(form, "client_secret") != config_.client_secret)
      return error_answer(401, "invalid_client", "Unknown client_id or wrong client_secret");
    if (form_value(form, "audience").empty())
      return error_answer(400, "invalid_request", "audience is required");
    if (!audience_is_region)
      return error_answer(400, "invalid_request", "audience must be a Fleet API region base URL");
    return redeem_code_locked(form);
  }
  if (grant == "client_credentials") {
    if (client_id != config_.client_id ||
        form_value(form, "client_secret") != config_.client_secret)
      return error_answer(401, "invalid_client", "Unknown client_id or wrong client_secret");
    if (form_value(form, "audience").empty())
      return error_answer(400, "invalid_request", "audience is required");
    const std::string scope = form_value(form, "scope");
    const auto scopes = scope.empty() ? config_.partner_scopes : split_scopes(scope);
    const std::string access = new_access_token_locked(client_id, "na", scopes, true, 0, {});
    issued_by_access_[access] = issued_.size();
    issued_.push_back(
        IssuedToken{issued_.size() + 1, "partner", {}, 0, {}, access, unix_ms(Clock::now())});
    return {200,
            json::serialize(json::object{{"access_token", access},
                                         {"expires_in", config_.access_lifetime.count()},
                                         {"token_type", "Bearer"}}),
            {}};
  }
  return error_answer(400, "unsupported_grant_type",
                      grant.empty() ? "grant_type is required" : "Unsupported grant_type");
}

Bearer TokenAuthority::check_bearer(std::string_view token) const {
  std::lock_guard lock(mu_);
  Bearer b;
  if (auto used = issued_by_access_.find(token); used != issued_by_access_.end())
    ++issued_[used->second].access_uses;
  auto it = access_.find(token);
  if (it == access_.end()) return b;
  const AccessRecord& r = it->second;
  b.partner = r.partner;
  b.account = r.account;
  b.scopes = r.scopes;
  if (!r.partner) {
    auto a = accounts_.find(r.account);
    if (a == accounts_.end() || a->second.generation != r.generation) {
      b.state = BearerState::kVoided;
      return b;
    }
  }
  b.state = Clock::now() >= r.expires ? BearerState::kExpired : BearerState::kValid;
  return b;
}

}  // namespace oemlink::mock_oem::tesla
