// TokenChain: the OAuth tokens of one Smartcar consent, shared by every connection it covers.
// One Connect consent may cover several cars and gives them ONE refresh token; each refresh
// returns a new pair and Smartcar kills the used refresh token a minute later. So, per chain:
//  - one refresh at a time (callers queue behind it), never one per car;
//  - the rotated pair is made durable with ONE secret_put (on the connection that asked, else the
//    next member whose write succeeds) BEFORE anyone uses it; when no write succeeds it is held
//    only to retry the write first thing on the next get(), and nobody uses it meanwhile;
//  - the other members copy the newest pair lazily: each poll calls propagate_to(), which writes
//    the current pair to that member when what it stores is older (one write at most);
//  - at first use the member storing the newest pair (issued_at_ms) wins;
//  - a refused refresh ends the chain: every member is told NEEDS_REAUTH.
// A connection whose identifiers name no smartcar_user has a chain of its own (chain_directory).
// Secret keys (per connection) are below; tokens never appear in logs or reasons.
#ifndef OEMLINK_SMARTCAR_TOKEN_CHAIN_HPP
#define OEMLINK_SMARTCAR_TOKEN_CHAIN_HPP

#include "smartcar_settings.hpp"

#include <oemlink/driver.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace oemlink::smartcar {

inline constexpr std::string_view kAccessTokenKey = "access_token";
inline constexpr std::string_view kRefreshTokenKey = "refresh_token";
inline constexpr std::string_view kAccessExpiresKey = "access_expires_at_ms";  // Unix ms
inline constexpr std::string_view kIssuedAtKey =
    "issued_at_ms";  // when we got the pair; 0/absent: seeded
// Written once at linking, never rotated: which consent the tokens belong to (chain_directory).
inline constexpr std::string_view kGrantIdKey = "grant_id";
inline constexpr std::string_view kUserIdKey = "user_id";  // the Smartcar user, when known

struct TokenResult {
  enum class Outcome { ready, retry, reauth, rate_limited } outcome = Outcome::ready;
  std::string access_token;  // with ready
  std::string reason;        // for the log / report_state; never contains a token
  std::string reauth_url;    // with reauth, when Smartcar gave one
  int64_t until_ms = 0;      // with rate_limited
};

class TokenChain : public std::enable_shared_from_this<TokenChain> {
 public:
  using Callback = std::function<void(const TokenResult&)>;

  // `name` says whose chain it is in logs ("user <id>", "connection").
  TokenChain(Host host, std::shared_ptr<const SmartcarSettings> settings, std::string name);

  // A member's stored pair is read at the chain's next use (the host refuses secret access
  // inside open()). `vehicle_id` words the re-auth reason the chain reports to it.
  void add_member(ConnHandle conn, std::string vehicle_id);
  void remove_member(ConnHandle conn);
  size_t member_count() const;

  // A stored access token valid beyond the refresh margin, refreshing first when needed. `cb`
  // runs exactly once, possibly before get() returns.
  void get(ConnHandle asking, Callback cb);
  // Smartcar refused `rejected` with 401: refresh, unless another member already replaced it.
  void refresh_after_401(const std::string& rejected, ConnHandle asking, Callback cb);
  // At the start of each poll of `member`: writes the chain's current pair there when it is
  // durable elsewhere and newer than what `member` stores (one secret_put; a failure is counted
  // and tried again next time). Nothing while a refresh or an unstored pair is pending.
  void propagate_to(ConnHandle member);

  uint64_t refreshes() const;

 private:
  struct Pair {
    std::string access, refresh;
    int64_t access_expires_at_ms = 0;
    int64_t issued_at_ms = 0;
  };
  struct Waiter {
    ConnHandle conn;
    Callback cb;
  };

  void load_members();
  void merge(Pair pair);
  void start_refresh(std::unique_lock<std::mutex>& lock);
  void on_refresh_answer(const HttpResponse& r);
  bool persist(const Pair& pair, ConnHandle first);
  bool write_pair(ConnHandle member, const Pair& pair);
  // Hands `result` to every waiter, outside the lock.
  void finish(std::unique_lock<std::mutex>& lock, const TokenResult& result);

  Host host_;
  std::shared_ptr<const SmartcarSettings> settings_;
  std::string name_;

  mutable std::mutex mu_;
  std::vector<std::pair<ConnHandle, std::string>> members_;  // conn, vehicle id
  std::vector<ConnHandle> unloaded_;
  std::map<ConnHandle, int64_t> stored_issued_;  // what each loaded member stores (-1: nothing)
  Pair current_;
  bool have_current_ = false;
  bool pending_persist_ = false;  // current_ came from Smartcar but is stored nowhere yet
  bool refreshing_ = false;
  ConnHandle refresh_for_ = nullptr;
  std::string reauth_reason_, reauth_url_;  // set: the consent is dead until a member is re-seeded
  std::vector<Waiter> waiters_;
  uint64_t refreshes_ = 0;
};

}  // namespace oemlink::smartcar

#endif  // OEMLINK_SMARTCAR_TOKEN_CHAIN_HPP
