// One row per configuration key, the same kind of table a driver declares with
// `oemlink_setting`: key, type, default, flags, description, plus the bounds the reader checks
// and the reference (`oemlink config schema`, config/README.md) prints. Each core part's block
// has one table (core/config/*_table.cpp); table_reader.hpp reads any block against its table.
#pragma once

#include <cstdint>
#include <filesystem>
#include <limits>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>

#include "core/config/config.hpp"

namespace oemlink::config {

enum class SettingType {
  string,
  boolean,
  integer,
  number,
  duration,    // "30s"; stored as milliseconds
  size,        // "256MiB"; stored as bytes
  choice,      // one of `choices`
  path,        // resolved against `base`
  string_map,  // string -> string
  block,       // a mapping with a table of its own, read by the caller
  list,        // a sequence of blocks, read by the caller
  mapping,     // a free-form mapping kept as written (a driver's settings)
};

enum SettingFlag : uint32_t {
  kRequired = 1u << 0,
  kSecret = 1u << 1,      // never quoted in messages
  kDeprecated = 1u << 2,  // accepted and type-checked, then ignored with a warning
  kNotEmpty = 1u << 3,    // "" is an error (for paths: instead of keeping the default)
};

// Relative paths: inputs shipped next to the config, or outputs and state kept with the data.
enum class PathBase { config_dir, data_dir };

// Inclusive bounds on a number, a duration (ms), a size (bytes) or an integer.
struct Range {
  double min = -std::numeric_limits<double>::infinity();
  double max = std::numeric_limits<double>::infinity();
  std::string_view problem;  // "must be at least 1"
  std::string_view shown;    // the reference's wording: "≥ 1"
  bool bounded() const {
    return min > -std::numeric_limits<double>::infinity() ||
           max < std::numeric_limits<double>::infinity();
  }
};

inline constexpr Range kPositive{1, std::numeric_limits<double>::infinity(),
                                 "must be greater than zero", "> 0"};
inline constexpr Range kAtLeastOne{1, std::numeric_limits<double>::infinity(), "must be at least 1",
                                   "≥ 1"};

// A check on a text value beyond its type (a name pattern, an address); on a string_map row it
// applies to every value.
struct TextCheck {
  bool (*valid)(std::string_view text) = nullptr;
  std::string_view problem;  // "must match [a-z0-9_-]+"
};

// What the reference and the reader need to know about one key.
struct SettingSpec {
  std::string_view key;
  SettingType type = SettingType::string;
  uint32_t flags = 0;
  // YAML text, read as an operator's value would be; the tests check it reads as the struct's
  // default. Empty when `default_note` says it instead.
  std::string_view default_value;
  std::string_view default_note;  // "empty: stderr", "the driver's"
  std::string_view description;
  Range range{};
  std::span<const std::string_view> choices{};
  PathBase base = PathBase::config_dir;
  TextCheck check{};
  std::string_view shape;  // the reference's Type column when the type alone does not say it
};

// Where a row's value goes in the block's struct. A choice goes to a string (the name) or
// through a function (an enum); `std::monostate` rows are read by the caller (blocks, lists)
// or not at all (deprecated keys).
template <class T>
using SettingTarget =
    std::variant<std::monostate, std::string T::*, std::filesystem::path T::*, bool T::*,
                 uint32_t T::*, uint64_t T::*, double T::*, Duration T::*,
                 std::optional<Duration> T::*, std::map<std::string, std::string> T::*,
                 void (*)(T&, size_t choice)>;

template <class T>
struct Setting {
  SettingSpec spec;
  SettingTarget<T> target;
};

// One block's table: `path` as the reference names it ("logging", "drivers[]", "sinks[]
// (type: mqtt)"), an introduction for operators, and its rows in the order the reference and
// the "valid:" lists show them.
template <class T>
struct SettingBlock {
  std::string_view path;
  std::string_view intro;
  std::span<const Setting<T>> rows;
};

}  // namespace oemlink::config
