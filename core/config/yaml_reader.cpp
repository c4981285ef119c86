#include "core/config/yaml_reader.hpp"

#include <algorithm>

#include "core/config/duration.hpp"
#include "core/config/key_suggestion.hpp"
#include "core/config/substitution.hpp"

namespace oemlink::config {
namespace {

std::string describe_kind(const ConfigNode& node) {
  switch (node.kind) {
    case ConfigNode::Kind::mapping:
      return "a mapping";
    case ConfigNode::Kind::sequence:
      return "a sequence";
    case ConfigNode::Kind::scalar:
      return "a scalar";
    default:
      return "null";
  }
}

// How a value appears in a message: as written in the YAML, so a placeholder shows as
// "${TOKEN}" and never as what it expanded to.
std::string shown(const Field& field, bool secret) {
  if (!field.value->is_scalar()) return describe_kind(*field.value);
  if (secret) return "a secret value (not shown)";
  return '"' + field.value->text + '"';
}

}  // namespace

Position Diagnostics::position(const Mark& mark) const {
  return Position{source_, mark.line, mark.column};
}

void Diagnostics::add(Position position, std::string key_path, std::string message) {
  diagnostics_.push_back(Diagnostic{std::move(position), std::move(key_path), std::move(message)});
}

void Diagnostics::throw_if_any() const {
  if (diagnostics_.empty()) return;
  std::vector<Diagnostic> sorted = diagnostics_;
  std::stable_sort(sorted.begin(), sorted.end(), [](const Diagnostic& a, const Diagnostic& b) {
    return std::pair(a.position.line, a.position.column) <
           std::pair(b.position.line, b.position.column);
  });
  throw ConfigError(std::move(sorted));
}

const Field* Fields::find(std::string_view key) const {
  for (const auto& [name, field] : entries_) {
    if (name == key) return &field;
  }
  return nullptr;
}

std::string child_path(std::string_view parent, std::string_view key) {
  if (parent.empty()) return std::string(key);
  return std::string(parent) + "." + std::string(key);
}

void YamlReader::error(const Field& field, std::string message) {
  diagnostics_.add(field.mark, field.path, std::move(message));
}

void YamlReader::invalid(const Field& field, std::string_view problem, std::string_view hint,
                         bool secret) {
  std::string message = std::string(problem) + ", got " + shown(field, secret);
  if (!hint.empty()) message += " (" + std::string(hint) + ")";
  error(field, std::move(message));
}

Fields YamlReader::mapping(const Field& field, std::span<const std::string_view> known,
                           std::string_view what) {
  return collect(field, known, what);
}

Fields YamlReader::free_mapping(const Field& field) {
  return collect(field, std::nullopt, "key");
}

Fields YamlReader::collect(const Field& field,
                           std::optional<std::span<const std::string_view>> known,
                           std::string_view what) {
  Fields fields;
  fields.path_ = field.path;
  fields.mark_ = field.mark;
  if (field.value->is_null()) return fields;
  if (!field.value->is_mapping()) {
    invalid(field, "expected a mapping");
    return fields;
  }
  for (const ConfigNode::Entry& entry : field.value->entries) {
    const ConfigNode& key = entry.key;
    if (!key.is_scalar()) {
      diagnostics_.add(key.mark, field.path, "keys must be plain names, got " + describe_kind(key));
      continue;
    }
    const std::string& name = key.text;
    std::string path = child_path(field.path, name);
    if (known && std::find(known->begin(), known->end(), name) == known->end()) {
      diagnostics_.add(key.mark, path, unknown_name_message(what, name, *known));
      continue;
    }
    if (const Field* first = fields.find(name)) {
      Position first_position = diagnostics_.position(first->mark);
      diagnostics_.add(
          key.mark, path,
          "duplicate key (first given at line " + std::to_string(first_position.line) + ")");
      continue;
    }
    const ConfigNode& value = entry.value;
    fields.entries_.emplace_back(name,
                                 Field{path, &value, value.is_null() ? key.mark : value.mark});
  }
  return fields;
}

std::vector<Field> YamlReader::sequence(const Field& field) {
  std::vector<Field> elements;
  if (field.value->is_null()) return elements;
  if (!field.value->is_sequence()) {
    invalid(field, "expected a sequence");
    return elements;
  }
  for (size_t i = 0; i < field.value->items.size(); ++i) {
    const ConfigNode& element = field.value->items[i];
    Mark mark = element.is_null() ? field.mark : element.mark;
    elements.push_back(Field{field.path + "[" + std::to_string(i) + "]", &element, mark});
  }
  return elements;
}

std::optional<std::string> YamlReader::scalar_text(const Field& field, std::string_view expected,
                                                   bool secret) {
  if (!field.value->is_scalar()) {
    invalid(field, expected, {}, secret);
    return std::nullopt;
  }
  if (!expand_) return field.value->text;
  Parsed<std::string> expanded = expand_placeholders(field.value->text, base_dir_);
  if (!expanded.value) error(field, expanded.problem);
  return expanded.value;
}

std::optional<std::string> YamlReader::text(const Field& field, bool secret) {
  if (field.value->is_null()) return std::string();
  return scalar_text(field, "expected a string", secret);
}

void YamlReader::check_placeholders(const Field& field) {
  if (field.value->is_scalar()) {
    scalar_text(field, "expected a string", false);
  } else if (field.value->is_mapping()) {
    Fields entries = free_mapping(field);
    for (const auto& [name, child] : entries.entries()) check_placeholders(child);
  } else if (field.value->is_sequence()) {
    for (const Field& element : sequence(field)) check_placeholders(element);
  }
}

bool YamlReader::read(const Fields& fields, std::string_view key, std::string& out) {
  const Field* field = fields.find(key);
  if (!field) return false;
  std::optional<std::string> value = text(*field);
  if (value) out = std::move(*value);
  return value.has_value();
}

namespace {

template <class T>
bool read_parsed(YamlReader& reader, const Fields& fields, std::string_view key, T& out,
                 Parsed<T> (*parser)(std::string_view), std::string_view expected) {
  const Field* field = fields.find(key);
  if (!field) return false;
  std::optional<T> value = reader.parse(*field, parser, expected);
  if (value) out = *value;
  return value.has_value();
}

}  // namespace

bool YamlReader::read(const Fields& fields, std::string_view key, bool& out) {
  return read_parsed(*this, fields, key, out, parse_bool, "expected true or false");
}

bool YamlReader::read(const Fields& fields, std::string_view key, double& out) {
  return read_parsed(*this, fields, key, out, parse_number, "expected a number");
}

bool YamlReader::read(const Fields& fields, std::string_view key, uint32_t& out) {
  return read_parsed(*this, fields, key, out, parse_uint32, "expected an integer");
}

bool YamlReader::read(const Fields& fields, std::string_view key, uint64_t& out) {
  return read_parsed(*this, fields, key, out, parse_uint64, "expected an integer");
}

bool YamlReader::read(const Fields& fields, std::string_view key, Duration& out) {
  return read_parsed(*this, fields, key, out, parse_duration, R"(expected a duration like "30s")");
}

bool YamlReader::read_size(const Fields& fields, std::string_view key, uint64_t& out) {
  return read_parsed(*this, fields, key, out, parse_size, R"(expected a size like "256MiB")");
}

std::optional<size_t> YamlReader::read_choice(const Fields& fields, std::string_view key,
                                              std::span<const std::string_view> choices) {
  const Field* field = fields.find(key);
  if (!field) return std::nullopt;
  std::optional<std::string> value = scalar_text(*field, "expected a name", false);
  if (!value) return std::nullopt;
  auto match = std::find(choices.begin(), choices.end(), *value);
  if (match != choices.end()) return static_cast<size_t>(match - choices.begin());
  // Quote the value as written, not as expanded (see shown()).
  error(*field, unknown_name_message("value", field->value->text, choices));
  return std::nullopt;
}

void YamlReader::require(const Fields& fields, std::string_view key) {
  if (fields.find(key)) return;
  diagnostics_.add(fields.mark(), child_path(fields.path(), key),
                   "missing required key \"" + std::string(key) + "\"");
}

}  // namespace oemlink::config
