#include "chain_directory.hpp"

#include <algorithm>

namespace oemlink::smartcar {

std::shared_ptr<TokenChain> ChainDirectory::join(std::string_view user, std::string_view grant,
                                                 ConnHandle conn, const std::string& vehicle_id) {
  std::shared_ptr<TokenChain> chain;
  if (user.empty()) {
    chain = std::make_shared<TokenChain>(host_, settings_, "vehicle " + vehicle_id);
  } else {
    const std::string key = std::string(user) + '\n' + std::string(grant);
    std::lock_guard lock(mu_);
    prune();
    auto& slot = chains_[key];
    chain = slot.lock();
    if (!chain) {
      chain = std::make_shared<TokenChain>(host_, settings_, "Smartcar user " + std::string(user));
      slot = chain;
    }
  }
  chain->add_member(conn, vehicle_id);
  return chain;
}

void ChainDirectory::prune() {
  // Amortised: a sweep whenever the map doubled, not one per join (a million cars at start).
  if (chains_.size() < prune_at_) return;
  std::erase_if(chains_, [](const auto& kv) { return kv.second.expired(); });
  prune_at_ = std::max<size_t>(64, 2 * chains_.size());
}

size_t ChainDirectory::shared_chains() {
  std::lock_guard lock(mu_);
  size_t live = 0;
  for (const auto& kv : chains_) live += kv.second.expired() ? 0 : 1;
  return live;
}

}  // namespace oemlink::smartcar
