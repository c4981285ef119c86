// TeslaAccount: what the connections of one Tesla user share — the token chain, the region,
// the vehicle list cache and an account-wide rate limit — and the one way to call the Fleet
// API for them: call() takes a token, finds the region, sends, refreshes once on 401, follows
// one 421, charges a car's daily budget, counts billed calls, and answers an ApiOutcome.
#ifndef OEMLINK_TESLA_TESLA_ACCOUNT_HPP
#define OEMLINK_TESLA_TESLA_ACCOUNT_HPP

#include "daily_budget.hpp"
#include "fleet_api_status.hpp"
#include "region_resolver.hpp"
#include "tesla_settings.hpp"
#include "token_chain.hpp"
#include "vehicle_list.hpp"

#include <oemlink/driver.hpp>

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace oemlink::tesla {

struct FleetCall {
  std::string category;           // counter suffix: vehicle_data, vehicle_list, wake_up, ...
  ConnHandle conn = nullptr;      // for the host's attribution; nullptr for account calls
  ConnHandle asking = nullptr;    // an account call's polling connection (gets a rotated pair)
  DailyBudget* budget = nullptr;  // the car's, charged per billed attempt; nullptr: none
  bool account_scoped = false;    // a 429 here limits every car of the account
  // Builds the request for a region base URL and access token (the Authorization header is
  // added by call()).
  std::function<HttpRequest(const std::string& base_url, const std::string& access_token)> build;

  // Where a token pair rotated for this call is stored first.
  ConnHandle token_for() const { return conn ? conn : asking; }
};

struct FleetReply {
  ApiOutcome outcome;
  std::string body;          // copied: the host's view ends with its callback
  std::string access_token;  // the token the answer was for (to read its scopes)
};

class TeslaAccount : public std::enable_shared_from_this<TeslaAccount> {
 public:
  using Reply = std::function<void(const FleetReply&)>;
  using ListReply =
      std::function<void(const ApiOutcome&, const std::vector<VehicleEntry>& vehicles)>;

  TeslaAccount(Host host, std::shared_ptr<const TeslaSettings> settings, std::string name);

  TokenChain& tokens() { return *chain_; }
  RegionResolver& region() { return *region_; }
  const std::string& name() const { return name_; }

  void call(FleetCall call, Reply reply);
  // A vehicle list of more pages than this is refused (RETRY, counted): a server whose `next`
  // never ends must not bill calls without end. 50 pages of 100 are 5,000 cars.
  static constexpr int kMaxVehicleListPages = 50;

  // The vehicle list, from the cache while it is younger than vehicle_list_ttl; one listing
  // (every page, each a billed call) for all cars asking at once. `asking`: the polling
  // connection (a token refresh it causes is stored on it).
  void vehicles(ConnHandle asking, ListReply reply);
  void forget_vehicles();
  // When the list was last read from Tesla (-1: never); forget_vehicles() does not clear it.
  int64_t listed_at_ms() const;

  // Nothing for any car of the account before this (a 429 on an account-wide call).
  int64_t rate_limited_until() const;
  std::string rate_limit_reason() const;

 private:
  struct Attempt;
  void run(std::shared_ptr<Attempt> a);
  void send(std::shared_ptr<Attempt> a, const std::string& base, const std::string& token);
  void on_answer(std::shared_ptr<Attempt> a, const std::string& token, const HttpResponse& r);
  void report_all(oemlink_conn_state state, int64_t until, const std::string& reason);
  struct Listing;
  void list_page(std::shared_ptr<Listing> listing, int64_t page, int64_t per_page);
  void on_list_page(std::shared_ptr<Listing> listing, int64_t page, const FleetReply& reply);
  void finish_list(ApiOutcome o, std::shared_ptr<std::vector<VehicleEntry>> list);

  Host host_;
  std::shared_ptr<const TeslaSettings> settings_;
  std::string name_;
  std::shared_ptr<TokenChain> chain_;
  std::shared_ptr<RegionResolver> region_;

  mutable std::mutex mu_;
  int64_t rate_limited_until_ = 0;
  std::string rate_limit_reason_;
  std::shared_ptr<const std::vector<VehicleEntry>> list_;
  int64_t list_at_ms_ = -1;  // -1: none cached
  int64_t listed_at_ms_ = -1;
  bool listing_ = false;
  std::vector<ListReply> list_waiters_;
};

}  // namespace oemlink::tesla

#endif
