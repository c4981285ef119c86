// TokenChain: one Tesla user's OAuth token chain, shared by every connection that names the
// same `account` (or by one connection alone). Refresh tokens are single use and a new one voids
// the old, so:
//  - one refresh at a time per chain (callers queue behind it);
//  - the rotated pair is made durable with ONE secret_put BEFORE the new access token is handed
//    to anyone: to the connection that asked (else the next member whose write succeeds). If no
//    member's write succeeds, the pair is held only to retry the write (never used) and callers
//    are told to retry later. One write, not one per member: each write is a durable fsync on
//    the host's event loop, and 100 of them in one HTTP completion stalled it for seconds;
//  - the other members catch up lazily: each one's poll calls propagate_to(), which writes the
//    current pair to that member when what it stores is older (at most one write per call);
//  - at load (first use), the member holding the newest pair (issued_at_ms) wins; older distinct
//    refresh tokens stay as fall-backs tried once each if the newest is refused;
//  - a member opened later (a re-linked car, another car of the account linked, a re-seed)
//    is read at the chain's next use the same way: a pair newer than the chain's becomes current
//    (the other members then copy it lazily) and revives a chain that needed re-auth.
// login_required / invalid_grant -> re-auth with the reason; anything else -> retry later with
// back-off (30 s doubling to 30 min), never a loop.
#ifndef OEMLINK_TESLA_TOKEN_CHAIN_HPP
#define OEMLINK_TESLA_TOKEN_CHAIN_HPP

#include "tesla_settings.hpp"

#include <oemlink/driver.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace oemlink::tesla {

// The secret keys, per connection.
inline constexpr const char* kAccessTokenKey = "access_token";
inline constexpr const char* kRefreshTokenKey = "refresh_token";
inline constexpr const char* kAccessExpiresKey = "access_expires_at_ms";
inline constexpr const char* kIssuedAtKey = "issued_at_ms";

struct TokenPair {
  std::string access_token;
  std::string refresh_token;
  int64_t access_expires_at_ms = 0;
  int64_t issued_at_ms = 0;  // 0: seeded by the operator, never rotated by us
};

struct TokenResult {
  enum class Status { ok, retry, reauth };
  Status status = Status::retry;
  std::string access_token;  // with ok
  std::string reason;        // with retry/reauth; never contains a token
};

class TokenChain : public std::enable_shared_from_this<TokenChain> {
 public:
  using Callback = std::function<void(const TokenResult&)>;

  TokenChain(Host host, std::shared_ptr<const TeslaSettings> settings, std::string name);

  // Registers a member; its stored pair is read on the chain's next use (the host refuses
  // secret access inside open(), before the connection is registered).
  void add_member(ConnHandle conn);
  void remove_member(ConnHandle conn);
  std::vector<ConnHandle> members() const;

  // A usable access token: the current one when it is valid beyond the refresh margin, else
  // after a refresh. `asking`: the connection whose call needs it (nullptr: an account-wide
  // call); a pair rotated for it is stored on it first. `cb` may run before get() returns.
  void get(ConnHandle asking, Callback cb);
  // The API refused `rejected` with 401: refresh unless someone already replaced it.
  void refresh_after_401(const std::string& rejected, ConnHandle asking, Callback cb);
  // Called at the start of each poll of `member`: when the chain's current pair is durable
  // elsewhere and newer than what `member` stores, writes it there (one secret_put; a failure is
  // counted and tried again on the next call). Nothing while a refresh or a write is pending.
  void propagate_to(ConnHandle member);

  const std::string& name() const { return name_; }
  // For tests and status: whether a rotated pair waits for a successful write.
  bool has_unpersisted_pair() const;

 private:
  // Reads the pairs of members not read yet and merges them (newest issued_at_ms current).
  void load_members();
  // A stored pair newer (issued_at_ms) than the current one becomes current, even over a rotated
  // pair still waiting to be stored (which Tesla voided when it issued the newer one); others
  // become fall-backs.
  void merge(TokenPair pair);
  void drop_fallbacks_voided_by_refresh();
  void start_refresh(std::unique_lock<std::mutex>& lock);
  void on_refresh_response(const HttpResponse& r, std::string used_refresh);
  // Writes `pair` to ONE member: `first` when it is a member, else (or when its write fails) the
  // next member in order whose write succeeds. True when one write is durable.
  bool persist(const TokenPair& pair, ConnHandle first);
  bool write_pair(ConnHandle member, const TokenPair& pair);
  void finish(std::unique_lock<std::mutex>& lock, const TokenResult& result);
  void fail_retry(std::unique_lock<std::mutex>& lock, std::string reason);

  Host host_;
  std::shared_ptr<const TeslaSettings> settings_;
  std::string name_;

  mutable std::mutex mu_;
  std::vector<ConnHandle> members_;
  std::vector<ConnHandle> unloaded_;
  // The issued_at_ms of the pair each loaded member stores, as far as this chain knows (-1:
  // nothing stored). propagate_to() compares it with current_.
  std::map<ConnHandle, int64_t> stored_issued_;
  TokenPair current_;
  std::vector<TokenPair> fallbacks_;  // older distinct refresh tokens, newest first
  bool have_current_ = false;
  bool pending_persist_ = false;  // current_ was received but not yet written anywhere
  bool refreshing_ = false;
  ConnHandle refresh_for_ = nullptr;  // the connection whose call started the refresh
  std::string reauth_reason_;         // non-empty: the chain is dead until re-seeded
  int64_t next_attempt_ms_ = 0;
  int64_t refresh_started_ms_ = 0;
  int64_t backoff_ms_ = 0;
  std::vector<Callback> waiters_;
};

}  // namespace oemlink::tesla

#endif
