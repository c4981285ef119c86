// Which token chain a Smartcar connection uses. Connections whose identifiers name the same
// `smartcar_user` and whose stored `grant_id` secret names the same consent share one chain:
// one consent gives all its cars one rotating refresh token. The grant matters because the same
// user may consent more than once (a second car later, or one car re-authenticated with
// single_select): each consent has a refresh token of its own that reaches only its own cars,
// so mixing them would hand one car's token to cars it cannot read. A connection naming no
// user keeps a chain of its own (today's per-connection behaviour).
//
// Cars enrol by user when they open; the grant is a secret, readable only once open() returned,
// so the first poll of ANY car of a user reads the grant of every enrolled car of that user and
// seats them all in their chains. A chain thus knows all its members before its first refresh,
// and the newest stored pair among them wins (a car polled first never refreshes with an older,
// already rotated token while a sibling holds the newer one).
#ifndef OEMLINK_SMARTCAR_CHAIN_DIRECTORY_HPP
#define OEMLINK_SMARTCAR_CHAIN_DIRECTORY_HPP

#include "token_chain.hpp"

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace oemlink::smartcar {

class ChainDirectory {
 public:
  ChainDirectory(Host host, std::shared_ptr<const SmartcarSettings> settings)
      : host_(host), settings_(std::move(settings)) {}

  // At open: `conn` belongs to `user` (non-empty).
  void enroll(const std::string& user, ConnHandle conn, const std::string& vehicle_id);
  // At close: leaves the user and its chain.
  void leave(const std::string& user, ConnHandle conn);
  // At first use: the chain of `conn` (an enrolled car of `user`), or a chain of its own when
  // `user` is empty.
  std::shared_ptr<TokenChain> chain_of(const std::string& user, ConnHandle conn,
                                       const std::string& vehicle_id);
  size_t users();

 private:
  struct UserCars {
    std::vector<std::pair<ConnHandle, std::string>> unseated;  // conn, vehicle id
    std::map<ConnHandle, std::shared_ptr<TokenChain>> seated;
    std::map<std::string, std::weak_ptr<TokenChain>> by_grant;
  };
  void seat_all(const std::string& user, UserCars& cars);

  Host host_;
  std::shared_ptr<const SmartcarSettings> settings_;
  std::mutex mu_;
  std::map<std::string, UserCars, std::less<>> users_;
};

}  // namespace oemlink::smartcar

#endif  // OEMLINK_SMARTCAR_CHAIN_DIRECTORY_HPP
