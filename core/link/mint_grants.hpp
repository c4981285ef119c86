// MintGrants: what lets the browser that finished a link submit the owner's signature to
// POST /link/<driver>/mint. The callback hands out one random bearer token per link, bound to the
// connections it created (or re-authenticated) and to the owner it was started for; it expires
// after linking.grant_ttl. It also remembers what the maker said of each car (make, model, year):
// the mint's typed data needs them, and the owner's browser should not have to send them back. Kept
// in memory as SHA-256 of the token (a restart ends every grant: the owner links again, or the
// operator's minting service takes over through the admin API).
//
// Threading: the host loop thread. Times are the caller's steady clock in ms.
#pragma once

#include "core/link/link_tokens.hpp"

#include <chrono>
#include <cstdint>
#include <list>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace oemlink::link {

// What the driver listed for a car, beyond its ids.
struct CarFacts {
  std::string make, model;
  uint32_t year = 0;
};

class MintGrants {
 public:
  // At most `max_grants` live at once; beyond that the oldest is dropped (and counted by the
  // caller through dropped()), since each one stands for a consent already given.
  MintGrants(std::chrono::milliseconds ttl, size_t max_grants);

  // A new grant for `connection_ids` of `driver`; `owner` "" leaves the owner to the mint call.
  // `facts` by connection id (any subset).
  std::string issue(std::string driver, std::vector<std::string> connection_ids, std::string owner,
                    int64_t now_ms, std::map<std::string, CarFacts> facts = {});

  enum class Verdict {
    ok,
    unknown,      // no such grant, or expired (401)
    not_covered,  // the grant is for other connections or another driver (403)
  };
  struct Check {
    Verdict verdict = Verdict::unknown;
    std::string owner;  // the grant's owner with ok ("" when the start named none)
    CarFacts car;       // with ok: what the link learnt of this connection's car
  };
  Check check(std::string_view token, std::string_view driver, std::string_view connection_id,
              int64_t now_ms);

  size_t size() const { return by_token_.size(); }
  uint64_t dropped() const { return dropped_; }

 private:
  struct Grant {
    std::string key;  // SHA-256 of the token, as bytes
    std::string driver;
    std::vector<std::string> connection_ids;
    std::string owner;
    int64_t created_ms;
    std::map<std::string, CarFacts> facts;
  };
  void sweep(int64_t now_ms);

  std::chrono::milliseconds ttl_;
  size_t max_grants_;
  uint64_t dropped_ = 0;
  std::list<Grant> order_;  // oldest first
  std::unordered_map<std::string, std::list<Grant>::iterator> by_token_;
};

}  // namespace oemlink::link
