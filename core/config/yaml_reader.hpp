// Reading a YAML document (a ConfigNode tree) while collecting every problem instead of
// stopping at the first: type checks, unknown and duplicate keys, placeholder expansion, all
// with positions. Internal to core/config.
#pragma once

#include <filesystem>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/config/config.hpp"
#include "core/config/config_error.hpp"
#include "core/config/config_node.hpp"
#include "core/config/scalars.hpp"

namespace oemlink::config {

class Diagnostics {
 public:
  explicit Diagnostics(std::string source) : source_(std::move(source)) {}

  const std::string& source() const { return source_; }
  Position position(const Mark& mark) const;
  void add(Position position, std::string key_path, std::string message);
  void add(const Mark& mark, std::string key_path, std::string message) {
    add(position(mark), std::move(key_path), std::move(message));
  }
  bool empty() const { return diagnostics_.empty(); }
  const std::vector<Diagnostic>& all() const { return diagnostics_; }
  // Problems that do not make the document invalid (deprecated keys).
  void warn(const Mark& mark, std::string key_path, std::string message) {
    warnings_.push_back(Diagnostic{position(mark), std::move(key_path), std::move(message)});
  }
  const std::vector<Diagnostic>& warnings() const { return warnings_; }
  // Throws ConfigError with everything collected, in document order.
  void throw_if_any() const;

 private:
  std::string source_;
  std::vector<Diagnostic> diagnostics_;
  std::vector<Diagnostic> warnings_;
};

// A value inside the document with what a message needs to point at it.
struct Field {
  std::string path;         // "drivers[0].poll_interval"; "" for the document root
  const ConfigNode* value;  // into a tree that outlives the reading
  // The value's mark, except for an empty value (`key:`), which yaml-cpp marks at the next
  // token, possibly lines later: then the key's.
  Mark mark;
};

// The entries of one mapping, by key, after unknown and duplicate keys were reported.
class Fields {
 public:
  const Field* find(std::string_view key) const;
  const std::string& path() const { return path_; }
  const Mark& mark() const { return mark_; }
  const std::vector<std::pair<std::string, Field>>& entries() const { return entries_; }

 private:
  friend class YamlReader;
  std::string path_;
  Mark mark_;
  std::vector<std::pair<std::string, Field>> entries_;
};

std::string child_path(std::string_view parent, std::string_view key);

class YamlReader {
 public:
  // `expand` off reads text as written (a driver's built-in defaults are not operator input).
  YamlReader(Diagnostics& diagnostics, std::filesystem::path base_dir, bool expand = true)
      : diagnostics_(diagnostics), base_dir_(std::move(base_dir)), expand_(expand) {}

  Diagnostics& diagnostics() { return diagnostics_; }
  const std::filesystem::path& base_dir() const { return base_dir_; }

  void error(const Field& field, std::string message);
  void warn(const Field& field, std::string message) {
    diagnostics_.warn(field.mark, field.path, std::move(message));
  }
  // Reports "<problem>, got <value as written> (<hint>)".
  void invalid(const Field& field, std::string_view problem, std::string_view hint = {},
               bool secret = false);

  // A mapping's entries; a null value reads as empty. `known` lists the keys the schema allows;
  // `what` names them in messages ("unknown key ...").
  Fields mapping(const Field& field, std::span<const std::string_view> known,
                 std::string_view what = "key");
  // Same, any key allowed.
  Fields free_mapping(const Field& field);
  // A sequence's elements, paths "drivers[0]", ...; a null value reads as empty.
  std::vector<Field> sequence(const Field& field);

  // A scalar's text after placeholder expansion; null reads as "".
  std::optional<std::string> text(const Field& field, bool secret = false);
  // A scalar expanded and parsed; null is a type error.
  template <class T>
  std::optional<T> parse(const Field& field, Parsed<T> (*parser)(std::string_view),
                         std::string_view expected, bool secret = false);
  // Reports expansion errors in every scalar below `field`, for values interpreted later.
  void check_placeholders(const Field& field);

  // Readers for a mapping's keys: false, `out` untouched, when the key is absent or invalid.
  bool read(const Fields& fields, std::string_view key, std::string& out);
  bool read(const Fields& fields, std::string_view key, bool& out);
  bool read(const Fields& fields, std::string_view key, double& out);
  bool read(const Fields& fields, std::string_view key, uint32_t& out);
  bool read(const Fields& fields, std::string_view key, uint64_t& out);
  bool read(const Fields& fields, std::string_view key, Duration& out);
  bool read_size(const Fields& fields, std::string_view key, uint64_t& out);
  // The index of the value among `choices`.
  std::optional<size_t> read_choice(const Fields& fields, std::string_view key,
                                    std::span<const std::string_view> choices);
  template <class E>
  bool read_enum(const Fields& fields, std::string_view key, E& out,
                 std::initializer_list<std::pair<std::string_view, E>> choices);
  void require(const Fields& fields, std::string_view key);

 private:
  Fields collect(const Field& field, std::optional<std::span<const std::string_view>> known,
                 std::string_view what);
  std::optional<std::string> scalar_text(const Field& field, std::string_view expected,
                                         bool secret);

  Diagnostics& diagnostics_;
  std::filesystem::path base_dir_;
  bool expand_;
};

template <class T>
std::optional<T> YamlReader::parse(const Field& field, Parsed<T> (*parser)(std::string_view),
                                   std::string_view expected, bool secret) {
  std::optional<std::string> text = scalar_text(field, expected, secret);
  if (!text) return std::nullopt;
  Parsed<T> parsed = parser(*text);
  if (!parsed.value) invalid(field, parsed.problem, parsed.hint, secret);
  return parsed.value;
}

template <class E>
bool YamlReader::read_enum(const Fields& fields, std::string_view key, E& out,
                           std::initializer_list<std::pair<std::string_view, E>> choices) {
  std::vector<std::string_view> names;
  for (const auto& choice : choices) names.push_back(choice.first);
  std::optional<size_t> index = read_choice(fields, key, names);
  if (!index) return false;
  out = (choices.begin() + *index)->second;
  return true;
}

}  // namespace oemlink::config
