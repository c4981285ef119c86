// Reading a metric out of the text of status.json, as the end-to-end tests of the daemon do.
#pragma once

#include "core/common/metric_key.hpp"

#include <boost/json.hpp>

#include <string>
#include <string_view>

namespace oemlink::testing {

// The sum of metric family `name`'s series in status.json's "metrics" whose labels include
// `match` (all of them for {}); -1 when the document has no such series.
inline long status_metric(const std::string& status_json, std::string_view name,
                          const MetricLabels& match = {}) {
  boost::system::error_code ec;
  boost::json::value doc = boost::json::parse(status_json, ec);
  const boost::json::value* metrics =
      !ec && doc.is_object() ? doc.as_object().if_contains("metrics") : nullptr;
  if (!metrics || !metrics->is_object()) return -1;
  long sum = 0;
  bool found = false;
  for (const auto& [key, value] : metrics->as_object()) {
    auto parsed = parse_metric_key(key);
    if (!parsed || parsed->name != name || !value.is_number()) continue;
    bool all = true;
    for (const auto& [k, v] : match) {
      auto it = parsed->labels.find(k);
      all = all && it != parsed->labels.end() && it->second == v;
    }
    if (!all) continue;
    found = true;
    sum += static_cast<long>(value.to_number<double>());
  }
  return found ? sum : -1;
}

}  // namespace oemlink::testing
