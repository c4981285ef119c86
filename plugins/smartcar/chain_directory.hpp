// Which token chain a Smartcar connection uses. Connections whose identifiers name the same
// `smartcar_user` and whose stored `grant_id` secret names the same consent share one chain:
// one consent gives all its cars one rotating refresh token. The grant matters because the same
// user may consent more than once (a second car later, or one car re-authenticated with
// single_select): each consent has a refresh token of its own that reaches only its own cars,
// so mixing them would hand one car's token to cars it cannot read. A connection naming no
// user keeps a chain of its own (today's per-connection behaviour).
#ifndef OEMLINK_SMARTCAR_CHAIN_DIRECTORY_HPP
#define OEMLINK_SMARTCAR_CHAIN_DIRECTORY_HPP

#include "token_chain.hpp"

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace oemlink::smartcar {

class ChainDirectory {
 public:
  ChainDirectory(Host host, std::shared_ptr<const SmartcarSettings> settings)
      : host_(host), settings_(std::move(settings)) {}

  // The chain `conn` joins (as a member, with its vehicle id). An empty `user` gets a new chain.
  std::shared_ptr<TokenChain> join(std::string_view user, std::string_view grant, ConnHandle conn,
                                   const std::string& vehicle_id);
  // Live shared chains (tests, status).
  size_t shared_chains();

 private:
  void prune();

  Host host_;
  std::shared_ptr<const SmartcarSettings> settings_;
  std::mutex mu_;
  size_t prune_at_ = 64;
  std::map<std::string, std::weak_ptr<TokenChain>, std::less<>> chains_;  // user '\n' grant
};

}  // namespace oemlink::smartcar

#endif  // OEMLINK_SMARTCAR_CHAIN_DIRECTORY_HPP
