#include "core/config/table_reader.hpp"

namespace oemlink::config {

std::filesystem::path resolve_path(const std::filesystem::path& base,
                                   const std::filesystem::path& path) {
  return (path.is_absolute() ? path : base / path).lexically_normal();
}

namespace table_reading {
namespace {

bool in_range(YamlReader& reader, const Field& field, const SettingSpec& spec, double value) {
  if (value >= spec.range.min && value <= spec.range.max) return true;
  reader.invalid(field, spec.range.problem, {}, (spec.flags & kSecret) != 0);
  return false;
}

bool passes_text_checks(YamlReader& reader, const Field& field, const SettingSpec& spec,
                        const std::string& value) {
  const bool secret = (spec.flags & kSecret) != 0;
  if ((spec.flags & kNotEmpty) && value.empty()) {
    reader.invalid(field, "must not be empty", {}, secret);
    return false;
  }
  if (spec.check.valid && !spec.check.valid(value)) {
    reader.invalid(field, spec.check.problem, {}, secret);
    return false;
  }
  return true;
}

}  // namespace

std::optional<std::string> read_text(YamlReader& reader, const Field& field,
                                     const SettingSpec& spec) {
  std::optional<std::string> value = reader.text(field, (spec.flags & kSecret) != 0);
  if (!value || !passes_text_checks(reader, field, spec, *value)) return std::nullopt;
  return value;
}

std::optional<std::filesystem::path> read_path(YamlReader& reader, const Field& field,
                                               const SettingSpec& spec, const PathBases& bases) {
  std::optional<std::string> value = read_text(reader, field, spec);
  // An empty path keeps the default (kNotEmpty rows reported it above).
  if (!value || value->empty()) return std::nullopt;
  return resolve_path(spec.base == PathBase::data_dir ? bases.data_dir : bases.config_dir, *value);
}

std::optional<double> read_number(YamlReader& reader, const Field& field, const SettingSpec& spec) {
  const bool secret = (spec.flags & kSecret) != 0;
  std::optional<double> value = reader.parse(field, parse_number, "expected a number", secret);
  if (!value || !in_range(reader, field, spec, *value)) return std::nullopt;
  return value;
}

std::optional<uint64_t> read_unsigned(YamlReader& reader, const Field& field,
                                      const SettingSpec& spec, bool narrow) {
  const bool secret = (spec.flags & kSecret) != 0;
  std::optional<uint64_t> value;
  if (spec.type == SettingType::size) {
    value = reader.parse(field, parse_size, R"(expected a size like "256MiB")", secret);
  } else if (narrow) {
    if (auto small = reader.parse(field, parse_uint32, "expected an integer", secret))
      value = *small;
  } else {
    value = reader.parse(field, parse_uint64, "expected an integer", secret);
  }
  if (!value || !in_range(reader, field, spec, static_cast<double>(*value))) return std::nullopt;
  return value;
}

std::optional<Duration> read_duration(YamlReader& reader, const Field& field,
                                      const SettingSpec& spec) {
  const bool secret = (spec.flags & kSecret) != 0;
  std::optional<Duration> value =
      reader.parse(field, parse_duration, R"(expected a duration like "30s")", secret);
  if (!value || !in_range(reader, field, spec, static_cast<double>(value->count())))
    return std::nullopt;
  return value;
}

std::optional<bool> read_bool(YamlReader& reader, const Field& field, const SettingSpec& spec) {
  return reader.parse(field, parse_bool, "expected true or false", (spec.flags & kSecret) != 0);
}

std::optional<std::map<std::string, std::string>> read_string_map(YamlReader& reader,
                                                                  const Field& field,
                                                                  const SettingSpec& spec) {
  Fields entries = reader.free_mapping(field);
  std::map<std::string, std::string> out;
  bool complete = true;
  for (const auto& [name, value] : entries.entries()) {
    std::optional<std::string> text = reader.text(value, (spec.flags & kSecret) != 0);
    // The row's text check applies to each value (a map of token ids checks every id).
    if (text && !passes_text_checks(reader, value, spec, *text)) text.reset();
    if (text) out[name] = std::move(*text);
    complete = complete && text.has_value();
  }
  if (!complete) return std::nullopt;
  return out;
}

void read_deprecated(YamlReader& reader, const Field& field, const SettingSpec& spec) {
  bool valid = true;
  switch (spec.type) {
    case SettingType::duration:
      valid = read_duration(reader, field, spec).has_value();
      break;
    case SettingType::boolean:
      valid = read_bool(reader, field, spec).has_value();
      break;
    case SettingType::integer:
    case SettingType::size:
      valid = read_unsigned(reader, field, spec, false).has_value();
      break;
    case SettingType::number:
      valid = read_number(reader, field, spec).has_value();
      break;
    default:
      reader.check_placeholders(field);
      break;
  }
  if (valid) reader.warn(field, "deprecated and ignored: " + std::string(spec.description));
}

}  // namespace table_reading
}  // namespace oemlink::config
