#include "core/config/scalars.hpp"

#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>

namespace oemlink::config {
namespace {

template <class T>
Parsed<T> failure(std::string problem, std::string hint = {}) {
  return Parsed<T>{std::nullopt, std::move(problem), std::move(hint)};
}

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != b[i]) return false;
  }
  return true;
}

// from_chars over the whole text; rejects a leading '+' and trailing garbage.
template <class T>
std::optional<T> parse_whole(std::string_view text, std::errc& error) {
  T value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  error = ec;
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

}  // namespace

Parsed<bool> parse_bool(std::string_view text) {
  if (equals_ignoring_case(text, "true")) return {true, {}, {}};
  if (equals_ignoring_case(text, "false")) return {false, {}, {}};
  return failure<bool>("expected true or false");
}

Parsed<int64_t> parse_int64(std::string_view text) {
  std::errc error{};
  if (auto value = parse_whole<int64_t>(text, error)) return {*value, {}, {}};
  if (error == std::errc::result_out_of_range) return failure<int64_t>("integer out of range");
  return failure<int64_t>("expected an integer");
}

Parsed<uint64_t> parse_uint64(std::string_view text) {
  std::errc error{};
  if (auto value = parse_whole<uint64_t>(text, error)) return {*value, {}, {}};
  if (error == std::errc::result_out_of_range) return failure<uint64_t>("integer out of range");
  if (parse_int64(text).value) return failure<uint64_t>("must not be negative");
  return failure<uint64_t>("expected an integer");
}

Parsed<uint32_t> parse_uint32(std::string_view text) {
  Parsed<uint64_t> wide = parse_uint64(text);
  if (!wide.value) return failure<uint32_t>(std::move(wide.problem));
  if (*wide.value > std::numeric_limits<uint32_t>::max()) {
    return failure<uint32_t>("must be at most 4294967295");
  }
  return {static_cast<uint32_t>(*wide.value), {}, {}};
}

Parsed<double> parse_number(std::string_view text) {
  std::errc error{};
  auto value = parse_whole<double>(text, error);
  if (!value || !std::isfinite(*value)) return failure<double>("expected a number");
  return {*value, {}, {}};
}

}  // namespace oemlink::config
