#include "core/config/driver_settings.hpp"

#include <boost/json.hpp>

#include <vector>

#include "core/config/duration.hpp"
#include "core/config/yaml_document.hpp"
#include "core/config/yaml_reader.hpp"

namespace oemlink::config {
namespace {

namespace json = boost::json;

// A plain scalar typed the way YAML's core schema would: bool, integer, float, else string.
json::value infer_scalar(const std::string& text) {
  if (Parsed<bool> flag = parse_bool(text); flag.value) return *flag.value;
  if (Parsed<int64_t> integer = parse_int64(text); integer.value) return *integer.value;
  if (Parsed<double> number = parse_number(text); number.value) return *number.value;
  return json::string(text);
}

class SettingConverter {
 public:
  explicit SettingConverter(YamlReader& reader) : reader_(reader) {}

  std::optional<json::value> convert(const Field& field, const oemlink_setting& row) {
    const bool secret = (row.flags & OEMLINK_SETTING_SECRET) != 0;
    switch (row.type) {
      case OEMLINK_SETTING_STRING:
        return wrap(reader_.text(field, secret));
      case OEMLINK_SETTING_INT:
        return wrap(reader_.parse(field, parse_int64, "expected an integer", secret));
      case OEMLINK_SETTING_NUMBER:
        return wrap(reader_.parse(field, parse_number, "expected a number", secret));
      case OEMLINK_SETTING_BOOL:
        return wrap(reader_.parse(field, parse_bool, "expected true or false", secret));
      case OEMLINK_SETTING_DURATION_MS: {
        std::optional<Duration> duration =
            reader_.parse(field, parse_duration, R"(expected a duration like "30s")", secret);
        if (!duration) return std::nullopt;
        return json::value(static_cast<int64_t>(duration->count()));
      }
      case OEMLINK_SETTING_OBJECT:
        if (!field.value->is_mapping() && !field.value->is_sequence()) {
          reader_.invalid(field, "expected a mapping or a sequence", {}, secret);
          return std::nullopt;
        }
        return to_json(field, secret);
      default:
        reader_.error(field, "the driver declares this setting with unknown type " +
                                 std::to_string(row.type));
        return std::nullopt;
    }
  }

 private:
  template <class T>
  static std::optional<json::value> wrap(std::optional<T> value) {
    if (!value) return std::nullopt;
    return json::value(std::move(*value));
  }

  std::optional<json::value> to_json(const Field& field, bool secret) {
    if (field.value->is_mapping()) {
      json::object object;
      bool complete = true;
      Fields entries = reader_.free_mapping(field);
      for (const auto& [key, child] : entries.entries()) {
        std::optional<json::value> value = to_json(child, secret);
        if (value) object[key] = std::move(*value);
        complete = complete && value.has_value();
      }
      if (!complete) return std::nullopt;
      return object;
    }
    if (field.value->is_sequence()) {
      json::array array;
      bool complete = true;
      for (const Field& element : reader_.sequence(field)) {
        std::optional<json::value> value = to_json(element, secret);
        if (value) array.push_back(std::move(*value));
        complete = complete && value.has_value();
      }
      if (!complete) return std::nullopt;
      return array;
    }
    if (field.value->is_null()) return json::value(nullptr);
    std::optional<std::string> text = reader_.text(field, secret);
    if (!text) return std::nullopt;
    // Quoting is how an operator says "this is text" where the type would otherwise be inferred.
    if (field.value->quoted) return json::value(json::string(*text));
    return infer_scalar(*text);
  }

  YamlReader& reader_;
};

// A default is driver text, not operator input: no placeholders, and a bad one is the
// driver's bug, reported against the driver entry because there is no YAML line to point at.
std::optional<json::value> convert_default(const oemlink_setting& row, const std::string& path,
                                           const std::string& driver_name,
                                           const Position& driver_position,
                                           Diagnostics& diagnostics) {
  const std::string prefix =
      "driver \"" + driver_name + "\" declares an invalid default for this setting: ";
  ConfigNode node;
  try {
    node = parse_yaml(row.default_value);
  } catch (const YamlSyntaxError& error) {
    diagnostics.add(driver_position, path, prefix + error.what());
    return std::nullopt;
  }
  Diagnostics default_diagnostics(driver_name);
  YamlReader default_reader(default_diagnostics, {}, /*expand=*/false);
  std::optional<json::value> value =
      SettingConverter(default_reader).convert(Field{path, &node, Mark{}}, row);
  for (const Diagnostic& problem : default_diagnostics.all()) {
    diagnostics.add(driver_position, path, prefix + problem.message);
  }
  return value;
}

}  // namespace

std::string driver_settings_to_json(const DriverConfig& driver,
                                    std::span<const oemlink_setting> table,
                                    const std::string& driver_name) {
  Diagnostics diagnostics(driver.position.file);
  YamlReader reader(diagnostics, driver.base_dir);
  const std::string path =
      driver.key_path.empty() ? std::string("settings") : driver.key_path + ".settings";
  const bool has_block = driver.settings.is_mapping();
  const Position block_position =
      has_block ? diagnostics.position(driver.settings.mark) : driver.position;

  std::vector<std::string_view> names;
  for (const oemlink_setting& row : table) {
    if (row.name) names.push_back(row.name);
  }
  Fields given = reader.mapping(
      Field{path, &driver.settings, has_block ? driver.settings.mark : Mark{}}, names, "setting");

  SettingConverter converter(reader);
  json::object settings;
  for (const oemlink_setting& row : table) {
    if (!row.name) continue;
    const std::string setting_path = child_path(path, row.name);
    std::optional<json::value> value;
    if (const Field* field = given.find(row.name)) {
      value = converter.convert(*field, row);
    } else if (row.flags & OEMLINK_SETTING_REQUIRED) {
      diagnostics.add(block_position, setting_path,
                      "missing required setting \"" + std::string(row.name) + "\" of driver \"" +
                          driver_name + "\"");
    } else if (row.default_value) {
      value = convert_default(row, setting_path, driver_name, driver.position, diagnostics);
    }
    if (value) settings[row.name] = std::move(*value);
  }
  diagnostics.throw_if_any();
  return json::serialize(settings);
}

}  // namespace oemlink::config
