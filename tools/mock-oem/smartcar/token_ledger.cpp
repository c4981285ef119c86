#include "tools/mock-oem/smartcar/token_ledger.hpp"

#include "tools/mock-oem/smartcar/signature.hpp"

namespace oemlink::mock_oem::smartcar {

void TokenLedger::accept_refresh_token(std::string token, std::string vehicle,
                                       Clock::time_point now) {
  refresh_[std::move(token)] =
      RefreshToken{now + policy_.refresh_ttl, std::nullopt, std::move(vehicle)};
}

void TokenLedger::accept_access_token(std::string token, Clock::time_point now) {
  access_[std::move(token)] = now + policy_.access_ttl;
}

void TokenLedger::accept_auth_code(std::string code, Clock::time_point now) {
  codes_[std::move(code)] = now + policy_.auth_code_ttl;
}

TokenPair TokenLedger::issue(Clock::time_point now, std::string vehicle) {
  TokenPair pair{random_uuid(), random_uuid(), static_cast<int64_t>(policy_.access_ttl.count())};
  access_[pair.access_token] = now + policy_.access_ttl;
  refresh_[pair.refresh_token] =
      RefreshToken{now + policy_.refresh_ttl, std::nullopt, std::move(vehicle)};
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
  out = issue(now, rt.vehicle);
  ++refreshes_;
  return true;
}

bool TokenLedger::exchange_code(std::string_view code, Clock::time_point now, TokenPair& out) {
  auto it = codes_.find(code);
  if (it == codes_.end() || now >= it->second) {
    ++refused_;
    return false;
  }
  codes_.erase(it);
  out = issue(now, "");
  ++code_exchanges_;
  return true;
}

TokenLedger::AccessCheck TokenLedger::check_access(std::string_view token,
                                                   Clock::time_point now) const {
  auto it = access_.find(token);
  if (it == access_.end()) return AccessCheck::unknown;
  return now < it->second ? AccessCheck::valid : AccessCheck::expired;
}

std::vector<std::string> TokenLedger::access_tokens() const {
  std::vector<std::string> out;
  for (const auto& [token, expiry] : access_) out.push_back(token);
  return out;
}

std::vector<std::string> TokenLedger::refresh_tokens() const {
  std::vector<std::string> out;
  for (const auto& [token, state] : refresh_) out.push_back(token);
  return out;
}

}  // namespace oemlink::mock_oem::smartcar
