#include "core/common/json_member.hpp"

namespace oemlink {
namespace {

size_t skip_ws(std::string_view s, size_t i) {
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) ++i;
  return i;
}

// Index just past the string starting at s[i] == '"', or npos.
size_t skip_string(std::string_view s, size_t i) {
  for (++i; i < s.size(); ++i) {
    if (s[i] == '\\') {
      ++i;
    } else if (s[i] == '"') {
      return i + 1;
    }
  }
  return std::string_view::npos;
}

// Index just past the JSON value starting at s[i], or npos. Strings are skipped as units, so
// brackets inside them do not count.
size_t skip_value(std::string_view s, size_t i) {
  if (i >= s.size()) return std::string_view::npos;
  if (s[i] == '"') return skip_string(s, i);
  if (s[i] == '{' || s[i] == '[') {
    int depth = 0;
    while (i < s.size()) {
      char c = s[i];
      if (c == '"') {
        i = skip_string(s, i);
        if (i == std::string_view::npos) return i;
        continue;
      }
      if (c == '{' || c == '[') ++depth;
      if (c == '}' || c == ']') {
        if (--depth == 0) return i + 1;
      }
      ++i;
    }
    return std::string_view::npos;
  }
  while (i < s.size() && s[i] != ',' && s[i] != '}' && s[i] != ']' && s[i] != ' ' && s[i] != '\n' &&
         s[i] != '\r' && s[i] != '\t')
    ++i;
  return i;
}

}  // namespace

std::optional<std::string_view> raw_json_member(std::string_view json, std::string_view key) {
  size_t i = skip_ws(json, 0);
  if (i >= json.size() || json[i] != '{') return std::nullopt;
  i = skip_ws(json, i + 1);
  while (i < json.size() && json[i] == '"') {
    size_t key_end = skip_string(json, i);
    if (key_end == std::string_view::npos) return std::nullopt;
    std::string_view k = json.substr(i + 1, key_end - i - 2);
    i = skip_ws(json, key_end);
    if (i >= json.size() || json[i] != ':') return std::nullopt;
    i = skip_ws(json, i + 1);
    size_t value_end = skip_value(json, i);
    if (value_end == std::string_view::npos) return std::nullopt;
    if (k == key) return json.substr(i, value_end - i);
    i = skip_ws(json, value_end);
    if (i < json.size() && json[i] == ',') i = skip_ws(json, i + 1);
  }
  return std::nullopt;
}

}  // namespace oemlink
