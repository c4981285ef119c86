#include "core/common/metric_key.hpp"

namespace oemlink {

std::string metric_key(std::string_view name, const MetricLabels& labels) {
  std::string out(name);
  if (labels.empty()) return out;
  out += '{';
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) out += ',';
    first = false;
    out += k;
    out += "=\"";
    for (char c : v) {
      if (c == '\\' || c == '"') {
        out += '\\';
        out += c;
      } else if (c == '\n') {
        out += "\\n";
      } else {
        out += c;
      }
    }
    out += '"';
  }
  out += '}';
  return out;
}

std::optional<ParsedMetricKey> parse_metric_key(std::string_view key) {
  ParsedMetricKey out;
  size_t brace = key.find('{');
  out.name = std::string(key.substr(0, brace));
  if (out.name.empty()) return std::nullopt;
  if (brace == std::string_view::npos) return out;
  if (key.back() != '}') return std::nullopt;
  size_t i = brace + 1;
  const size_t end = key.size() - 1;
  while (i < end) {
    size_t eq = key.find('=', i);
    if (eq == std::string_view::npos || eq == i || eq + 1 >= end || key[eq + 1] != '"')
      return std::nullopt;
    std::string name(key.substr(i, eq - i));
    std::string value;
    size_t j = eq + 2;
    for (; j < end && key[j] != '"'; ++j) {
      if (key[j] == '\\') {
        if (++j >= end) return std::nullopt;
        value += key[j] == 'n' ? '\n' : key[j];
      } else {
        value += key[j];
      }
    }
    if (j >= end) return std::nullopt;  // no closing quote
    out.labels.emplace(std::move(name), std::move(value));
    i = j + 1;
    if (i < end) {
      if (key[i] != ',') return std::nullopt;
      ++i;
    }
  }
  return out;
}

}  // namespace oemlink
