#include "tools/mock-oem/smartcar/token_ledger.hpp"

#include "tools/mock-oem/smartcar/signature.hpp"

namespace oemlink::mock_oem::smartcar {

void TokenLedger::accept_refresh_token(std::string token, std::string vehicle,
                                       Clock::time_point now) {
  refresh_[std::move(token)] =
      RefreshToken{now + policy_.refresh_ttl, std::nullopt, std::move(vehicle), seeded_};
}

void TokenLedger::accept_access_token(std::string token, Clock::time_point now) {
  access_[std::move(token)] = AccessToken{now + policy_.access_ttl, seeded_};
}

void TokenLedger::accept_auth_code(std::string code, Clock::time_point now) {
  codes_[std::move(code)] = Code{now + policy_.auth_code_ttl, {}, seeded_};
}

std::string TokenLedger::issue_auth_code(Grant grant, std::string redirect_uri,
                                         Clock::time_point now) {
  std::string code = random_uuid();
  codes_[code] = Code{now + policy_.auth_code_ttl, std::move(redirect_uri),
                      std::make_shared<const Grant>(std::move(grant))};
  return code;
}

TokenPair TokenLedger::issue(Clock::time_point now, std::string vehicle, GrantRef grant) {
  TokenPair pair{random_uuid(), random_uuid(), static_cast<int64_t>(policy_.access_ttl.count())};
  access_[pair.access_token] = AccessToken{now + policy_.access_ttl, grant};
  refresh_[pair.refresh_token] =
      RefreshToken{now + policy_.refresh_ttl, std::nullopt, std::move(vehicle), std::move(grant)};
  return pair;
}

bool TokenLedger::refresh(std::string_view token, Clock::time_point now, TokenPair& out,
                          Refused& why, std::string& vehicle) {
  auto it = refresh_.find(token);
  if (it == refresh_.end()) {
    why = Refused::unknown;
    ++refused_;
    return false;
  }
  RefreshToken& rt = it->second;
  vehicle = rt.vehicle;
  if (now >= rt.expires) {
    why = Refused::expired;
    ++refused_;
    return false;
  }
  // Within the grace period a used token still refreshes (a client that lost the answer can
  // retry); its death time stays fixed at first use + grace.
  if (rt.first_used && now >= *rt.first_used + policy_.refresh_grace) {
    why = Refused::used_up;
    ++refused_;
    return false;
  }
  if (!rt.first_used) rt.first_used = now;
  out = issue(now, rt.vehicle, rt.grant);
  ++refreshes_;
  return true;
}

bool TokenLedger::exchange_code(std::string_view code, std::string_view redirect_uri,
                                Clock::time_point now, TokenPair& out, CodeRefused& why) {
  auto it = codes_.find(code);
  if (it == codes_.end()) {
    why = CodeRefused::unknown;
    ++refused_;
    return false;
  }
  const Code c = it->second;
  codes_.erase(it);
  if (now >= c.expires) {
    why = CodeRefused::expired;
    ++refused_;
    return false;
  }
  if (!c.redirect_uri.empty() && c.redirect_uri != redirect_uri) {
    why = CodeRefused::redirect_mismatch;
    ++refused_;
    return false;
  }
  out = issue(now, "", c.grant);
  ++code_exchanges_;
  return true;
}

GrantRef TokenLedger::grant_of(std::string_view token) const {
  auto it = access_.find(token);
  return it == access_.end() ? nullptr : it->second.grant;
}

TokenLedger::AccessCheck TokenLedger::check_access(std::string_view token,
                                                   Clock::time_point now) const {
  auto it = access_.find(token);
  if (it == access_.end()) return AccessCheck::unknown;
  return now < it->second.expires ? AccessCheck::valid : AccessCheck::expired;
}

std::vector<std::string> TokenLedger::access_tokens() const {
  std::vector<std::string> out;
  for (const auto& [token, state] : access_) out.push_back(token);
  return out;
}

std::vector<std::string> TokenLedger::refresh_tokens() const {
  std::vector<std::string> out;
  for (const auto& [token, state] : refresh_) out.push_back(token);
  return out;
}

}  // namespace oemlink::mock_oem::smartcar
