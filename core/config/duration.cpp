#include "core/config/duration.hpp"

#include <cctype>
#include <charconv>
#include <cmath>
#include <optional>
#include <span>

namespace oemlink::config {
namespace {

struct Unit {
  std::string_view name;
  double factor;
};

constexpr Unit kDurationUnits[] = {
    {"ms", 1}, {"s", 1e3}, {"m", 60e3}, {"h", 3600e3}, {"d", 86400e3}};

constexpr Unit kSizeUnits[] = {{"", 1},
                               {"B", 1},
                               {"KB", 1e3},
                               {"MB", 1e6},
                               {"GB", 1e9},
                               {"TB", 1e12},
                               {"KiB", 1024.0},
                               {"MiB", 1048576.0},
                               {"GiB", 1073741824.0},
                               {"TiB", 1099511627776.0}};

// Larger values are typos, and staying well below 2^63 keeps the double->int64 cast exact
// enough and defined.
constexpr double kLargestQuantity = 1e18;

struct Quantity {
  std::optional<double> number;
  std::string_view unit;
};

// Splits "1.5GiB" into 1.5 and "GiB". `number` is empty when the text does not start with one.
Quantity split_quantity(std::string_view text) {
  size_t unit_start = 0;
  while (unit_start < text.size() && (std::isdigit(static_cast<unsigned char>(text[unit_start])) ||
                                      text[unit_start] == '.' || text[unit_start] == '-')) {
    ++unit_start;
  }
  std::string_view digits = text.substr(0, unit_start);
  double number = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), number);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size()) return {};
  return {number, text.substr(unit_start)};
}

const Unit* find_unit(std::span<const Unit> units, std::string_view name) {
  for (const Unit& unit : units) {
    if (unit.name == name) return &unit;
  }
  return nullptr;
}

// The product rounded to an integer, or nothing when it is not (close to) one: 1.1 * 1000 is
// 1100.0000000000002 in binary floating point and must still count as whole.
std::optional<int64_t> whole(double value) {
  double rounded = std::round(value);
  if (std::abs(value - rounded) > 1e-6) return std::nullopt;
  return static_cast<int64_t>(rounded);
}

}  // namespace

Parsed<Duration> parse_duration(std::string_view text) {
  constexpr std::string_view kExpected = R"(expected a duration like "30s")";
  Quantity quantity = split_quantity(text);
  if (!quantity.number) return {std::nullopt, std::string(kExpected), {}};
  if (quantity.unit.empty()) {
    return {std::nullopt, std::string(kExpected), "add a unit: ms, s, m, h or d"};
  }
  const Unit* unit = find_unit(kDurationUnits, quantity.unit);
  if (!unit) return {std::nullopt, std::string(kExpected), "units: ms, s, m, h, d"};
  if (*quantity.number < 0) return {std::nullopt, "must not be negative", {}};
  double millis = *quantity.number * unit->factor;
  if (millis > kLargestQuantity) return {std::nullopt, "duration out of range", {}};
  std::optional<int64_t> whole_millis = whole(millis);
  if (!whole_millis) return {std::nullopt, "must be a whole number of milliseconds", {}};
  return {Duration(*whole_millis), {}, {}};
}

Parsed<uint64_t> parse_size(std::string_view text) {
  constexpr std::string_view kExpected = R"(expected a size like "256MiB")";
  constexpr std::string_view kUnits = "units: B, KB, MB, GB, TB, KiB, MiB, GiB, TiB";
  Quantity quantity = split_quantity(text);
  if (!quantity.number) return {std::nullopt, std::string(kExpected), std::string(kUnits)};
  const Unit* unit = find_unit(kSizeUnits, quantity.unit);
  if (!unit) return {std::nullopt, std::string(kExpected), std::string(kUnits)};
  if (*quantity.number < 0) return {std::nullopt, "must not be negative", {}};
  double bytes = *quantity.number * unit->factor;
  if (bytes > kLargestQuantity) return {std::nullopt, "size out of range", {}};
  std::optional<int64_t> whole_bytes = whole(bytes);
  if (!whole_bytes) return {std::nullopt, "must be a whole number of bytes", {}};
  return {static_cast<uint64_t>(*whole_bytes), {}, {}};
}

}  // namespace oemlink::config
