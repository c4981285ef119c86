#include "core/config/key_suggestion.hpp"

#include <algorithm>
#include <numeric>
#include <vector>

namespace oemlink::config {

size_t edit_distance(std::string_view a, std::string_view b) {
  // Levenshtein with one rolling row: the names compared are a few dozen characters at most.
  std::vector<size_t> row(b.size() + 1);
  std::iota(row.begin(), row.end(), 0);
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string unknown_name_message(std::string_view what, std::string_view name,
                                 std::span<const std::string_view> valid) {
  constexpr size_t kMaxTypoDistance = 2;
  std::string message = "unknown " + std::string(what) + " \"" + std::string(name) + "\"";
  std::string_view closest;
  size_t closest_distance = kMaxTypoDistance + 1;
  for (std::string_view candidate : valid) {
    size_t distance = edit_distance(name, candidate);
    if (distance < closest_distance) {
      closest = candidate;
      closest_distance = distance;
    }
  }
  if (!closest.empty()) message += " (did you mean \"" + std::string(closest) + "\"?)";
  message += "; valid: ";
  if (valid.empty()) message += "none";
  for (size_t i = 0; i < valid.size(); ++i) {
    if (i > 0) message += ", ";
    message += valid[i];
  }
  return message;
}

}  // namespace oemlink::config
