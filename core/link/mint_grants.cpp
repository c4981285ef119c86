#include "core/link/mint_grants.hpp"

#include <algorithm>

namespace oemlink::link {
namespace {

std::string key_of(std::string_view token) {
  Digest d = sha256(token);
  return std::string(reinterpret_cast<const char*>(d.data()), d.size());
}

}  // namespace

MintGrants::MintGrants(std::chrono::milliseconds ttl, size_t max_grants)
    : ttl_(ttl), max_grants_(std::max<size_t>(max_grants, 1)) {}

void MintGrants::sweep(int64_t now_ms) {
  while (!order_.empty() && now_ms - order_.front().created_ms >= ttl_.count()) {
    by_token_.erase(order_.front().key);
    order_.pop_front();
  }
}

std::string MintGrants::issue(std::string driver, std::vector<std::string> connection_ids,
                              std::string owner, int64_t now_ms,
                              std::map<std::string, CarFacts> facts) {
  sweep(now_ms);
  while (by_token_.size() >= max_grants_) {
    by_token_.erase(order_.front().key);
    order_.pop_front();
    ++dropped_;
  }
  std::string token = random_token();
  std::string key = key_of(token);
  order_.push_back(Grant{key, std::move(driver), std::move(connection_ids), std::move(owner),
                         now_ms, std::move(facts)});
  by_token_.emplace(std::move(key), std::prev(order_.end()));
  return token;
}

MintGrants::Check MintGrants::check(std::string_view token, std::string_view driver,
                                    std::string_view connection_id, int64_t now_ms) {
  sweep(now_ms);
  Check out;
  if (token.empty()) return out;
  auto it = by_token_.find(key_of(token));
  if (it == by_token_.end()) return out;
  const Grant& g = *it->second;
  if (g.driver != driver || std::find(g.connection_ids.begin(), g.connection_ids.end(),
                                      connection_id) == g.connection_ids.end()) {
    out.verdict = Verdict::not_covered;
    return out;
  }
  out.verdict = Verdict::ok;
  out.owner = g.owner;
  if (auto f = g.facts.find(std::string(connection_id)); f != g.facts.end()) out.car = f->second;
  return out;
}

}  // namespace oemlink::link
