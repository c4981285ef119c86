// One series of a metric family written as Prometheus writes it, `name{label="value",...}`
// (labels sorted by name, values escaped as in the text format): the keys of
// MetricsRegistry::snapshot() and of status.json's "metrics", parsed back by their readers.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace oemlink {

using MetricLabels = std::map<std::string, std::string>;

// `name` alone when `labels` is empty.
std::string metric_key(std::string_view name, const MetricLabels& labels);

struct ParsedMetricKey {
  std::string name;
  MetricLabels labels;
};

// nullopt when `key` is not what metric_key writes.
std::optional<ParsedMetricKey> parse_metric_key(std::string_view key);

}  // namespace oemlink
