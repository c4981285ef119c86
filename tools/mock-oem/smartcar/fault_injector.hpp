// Injected faults: rules matched against (endpoint, vehicle) in the order they were added, each
// firing `count` times (or forever). They come from --inject options and POST /mock/inject.
// Not thread-safe: the service serialises calls.
#pragma once

#include "tools/mock-oem/smartcar/api_error.hpp"

#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace oemlink::mock_oem::smartcar {

// Which requests a rule applies to. `vehicle_api` = every /v3 and /v2.0 vehicle request.
enum class Endpoint { vehicle_api, signals, vehicle, batch, token, any };

struct FaultRule {
  std::string vehicle;  // empty: every vehicle
  Endpoint endpoint = Endpoint::vehicle_api;
  unsigned status = 0;  // 0: no error, latency/drop only
  std::optional<std::string> code;
  std::optional<ErrorShape> shape;  // default: the endpoint's own shape
  int retry_after_s = -1;           // 429: default 60
  std::chrono::milliseconds delay{0};
  bool drop = false;
  int64_t count = 1;  // < 0: forever
};

// Parses one rule from the control API's JSON object or from the --inject option's
// comma-separated key=value list (same keys); throws std::invalid_argument naming the key.
FaultRule parse_fault_rule(const boost::json::object& spec);
FaultRule parse_fault_rule(std::string_view key_values);
boost::json::object describe(const FaultRule& rule);

class FaultInjector {
 public:
  void add(FaultRule rule) { rules_.push_back(std::move(rule)); }
  void clear() { rules_.clear(); }
  // The first matching rule (its count decremented), if any.
  std::optional<FaultRule> take(Endpoint endpoint, std::string_view vehicle);
  const std::vector<FaultRule>& rules() const { return rules_; }
  uint64_t fired() const { return fired_; }

 private:
  std::vector<FaultRule> rules_;
  uint64_t fired_ = 0;
};

}  // namespace oemlink::mock_oem::smartcar
