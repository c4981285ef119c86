// The one generic reader: checks a block of the document against its SettingBlock table and
// fills the block's struct. Unknown and duplicate keys, missing required keys, types, bounds
// and text checks are all reported through the YamlReader's diagnostics, so one pass lists
// every problem. Rules that span keys or blocks stay with the caller (config_loader.cpp).
// Internal to core/config.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "core/config/duration.hpp"
#include "core/config/setting_table.hpp"
#include "core/config/yaml_reader.hpp"

namespace oemlink::config {

// What relative paths resolve against (SettingSpec::base).
struct PathBases {
  std::filesystem::path config_dir;
  std::filesystem::path data_dir;
};

std::filesystem::path resolve_path(const std::filesystem::path& base,
                                   const std::filesystem::path& path);

template <class T>
std::vector<std::string_view> table_keys(std::span<const Setting<T>> rows) {
  std::vector<std::string_view> keys;
  for (const Setting<T>& row : rows) keys.push_back(row.spec.key);
  return keys;
}

namespace table_reading {

// The type-independent part: reads `field` as `spec` says and returns the value in the form
// the target takes, or nothing after reporting why.
std::optional<std::string> read_text(YamlReader& reader, const Field& field,
                                     const SettingSpec& spec);
std::optional<std::filesystem::path> read_path(YamlReader& reader, const Field& field,
                                               const SettingSpec& spec, const PathBases& bases);
std::optional<double> read_number(YamlReader& reader, const Field& field, const SettingSpec& spec);
std::optional<uint64_t> read_unsigned(YamlReader& reader, const Field& field,
                                      const SettingSpec& spec, bool narrow);
std::optional<Duration> read_duration(YamlReader& reader, const Field& field,
                                      const SettingSpec& spec);
std::optional<bool> read_bool(YamlReader& reader, const Field& field, const SettingSpec& spec);
std::optional<std::map<std::string, std::string>> read_string_map(YamlReader& reader,
                                                                  const Field& field,
                                                                  const SettingSpec& spec);
// Type-checks a deprecated key's value, then warns that it is ignored.
void read_deprecated(YamlReader& reader, const Field& field, const SettingSpec& spec);

template <class T, class M>
M T::*member(const SettingTarget<T>& target) {
  if (auto* pointer = std::get_if<M T::*>(&target)) return *pointer;
  return nullptr;
}

}  // namespace table_reading

// Reads each row's key from `fields` into `out`; absent keys keep the struct's default.
template <class T>
void read_rows(YamlReader& reader, const Fields& fields, std::span<const Setting<T>> rows, T& out,
               const PathBases& bases) {
  using namespace table_reading;
  for (const Setting<T>& row : rows) {
    const SettingSpec& spec = row.spec;
    const Field* field = fields.find(spec.key);
    if (!field) {
      if (spec.flags & kRequired) reader.require(fields, spec.key);
      continue;
    }
    if (spec.flags & kDeprecated) {
      read_deprecated(reader, *field, spec);
      continue;
    }
    switch (spec.type) {
      case SettingType::string:
        if (auto value = read_text(reader, *field, spec)) {
          if (auto m = member<T, std::string>(row.target)) out.*m = std::move(*value);
        }
        break;
      case SettingType::path:
        if (auto value = read_path(reader, *field, spec, bases)) {
          if (auto m = member<T, std::string>(row.target)) out.*m = value->string();
          if (auto m = member<T, std::filesystem::path>(row.target)) out.*m = std::move(*value);
        }
        break;
      case SettingType::boolean:
        if (auto value = read_bool(reader, *field, spec)) {
          if (auto m = member<T, bool>(row.target)) out.*m = *value;
        }
        break;
      case SettingType::integer:
      case SettingType::size: {
        auto narrow = member<T, uint32_t>(row.target);
        if (auto value = read_unsigned(reader, *field, spec, narrow != nullptr)) {
          if (narrow) out.*narrow = static_cast<uint32_t>(*value);
          if (auto m = member<T, uint64_t>(row.target)) out.*m = *value;
        }
        break;
      }
      case SettingType::number:
        if (auto value = read_number(reader, *field, spec)) {
          if (auto m = member<T, double>(row.target)) out.*m = *value;
        }
        break;
      case SettingType::duration:
        if (auto value = read_duration(reader, *field, spec)) {
          if (auto m = member<T, Duration>(row.target)) out.*m = *value;
          if (auto m = member<T, std::optional<Duration>>(row.target)) out.*m = *value;
        }
        break;
      case SettingType::choice:
        if (auto index = reader.read_choice(fields, spec.key, spec.choices)) {
          if (auto m = member<T, std::string>(row.target)) out.*m = spec.choices[*index];
          if (auto* choose = std::get_if<void (*)(T&, size_t)>(&row.target)) (*choose)(out, *index);
        }
        break;
      case SettingType::string_map:
        if (auto value = read_string_map(reader, *field, spec)) {
          if (auto m = member<T, std::map<std::string, std::string>>(row.target))
            out.*m = std::move(*value);
        }
        break;
      case SettingType::block:
      case SettingType::list:
      case SettingType::mapping:
        break;  // the caller reads these with their own tables
    }
  }
}

// A block: a mapping checked against the table's keys, then read into `out`. Returns the
// entries so that the caller can read its sub-blocks and apply rules that span keys.
template <class T>
Fields read_block(YamlReader& reader, const Field& field, const SettingBlock<T>& block, T& out,
                  const PathBases& bases) {
  std::vector<std::string_view> keys = table_keys(block.rows);
  Fields fields = reader.mapping(field, keys);
  // A null block has nothing to read; anything else but a mapping was reported already.
  if (field.value->is_mapping()) read_rows(reader, fields, block.rows, out, bases);
  return fields;
}

}  // namespace oemlink::config
