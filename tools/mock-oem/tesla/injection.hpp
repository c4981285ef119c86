// Injected faults: a rule picks requests (by car, account, path) and answers them with a status,
// latency or a dropped connection. A 429 with Retry-After also opens a rate-limit window over its
// scope, as Tesla does: every request in it gets 429 until the window closes, and each one is
// counted as a violation so tests can assert that a driver waited.
#pragma once

#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace oemlink::mock_oem::tesla {

struct InjectionRule {
  // Filters; empty/unset matches anything. `vin` also accepts the numeric vehicle id.
  std::string vin;
  std::string account;
  std::string path;  // substring of the request path, e.g. "vehicle_data"
  // Effect.
  unsigned status = 0;  // 0: answer normally (latency or drop only)
  int retry_after_s = 0;
  bool window = true;  // 429 + retry_after opens a window over the rule's scope
  int count = -1;      // how many requests it applies to; -1: forever
  int latency_ms = 0;
  bool drop = false;  // close the connection without answering
  std::string body;   // replaces the default body for `status`
};

// "status=429,vin=X,retry_after=60,count=1" (the keys of InjectionRule); throws
// std::invalid_argument naming the bad key or value.
InjectionRule parse_injection_rule(std::string_view spec);
// The control API's JSON form, same keys.
InjectionRule injection_rule_from_json(const boost::json::object& o);

struct RequestScope {
  std::string vin;  // empty when the request names no car
  uint64_t vehicle_id = 0;
  std::string account;
  std::string_view path;
};

struct InjectionDecision {
  unsigned status = 0;
  int retry_after_s = 0;
  int latency_ms = 0;
  bool drop = false;
  std::string body;
  bool in_window = false;  // answered from an open rate-limit window
};

class InjectionTable {
 public:
  using Clock = std::chrono::steady_clock;

  void add(InjectionRule rule);
  void clear();  // rules and open windows
  // The first live rule that matches, its count consumed; or an open window over the scope.
  std::optional<InjectionDecision> decide(const RequestScope& scope);
  uint64_t window_violations() const;

 private:
  struct Window {
    std::string vin;  // empty: account-wide (or global when account is empty too)
    std::string account;
    Clock::time_point until;
  };
  static bool matches(const InjectionRule& rule, const RequestScope& scope);

  mutable std::mutex mu_;
  std::vector<InjectionRule> rules_;
  std::vector<Window> windows_;
  uint64_t violations_ = 0;
};

}  // namespace oemlink::mock_oem::tesla
