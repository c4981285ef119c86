// Parsers for the scalar types the configuration uses. They see text after substitution, so
// their messages describe what was expected and never quote the text itself: the caller adds
// the original YAML text, which shows a placeholder rather than a secret it expanded to.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace oemlink::config {

template <class T>
struct Parsed {
  std::optional<T> value;
  std::string problem;  // set when !value: "expected an integer"
  std::string hint;     // optional advice: "add a unit: ms, s, m, h or d"
};

Parsed<bool> parse_bool(std::string_view text);  // true|false, any case
Parsed<int64_t> parse_int64(std::string_view text);
Parsed<uint64_t> parse_uint64(std::string_view text);
Parsed<uint32_t> parse_uint32(std::string_view text);
Parsed<double> parse_number(std::string_view text);  // finite only: JSON has no inf/nan

}  // namespace oemlink::config
