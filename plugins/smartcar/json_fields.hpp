// Null-safe reads of Boost.JSON values: every accessor takes a possibly-null pointer and answers
// null/nullopt for a missing member or a value of another type, so parsers of Smartcar's
// payloads never throw on a surprising shape and never need a chain of checks.
#ifndef OEMLINK_SMARTCAR_JSON_FIELDS_HPP
#define OEMLINK_SMARTCAR_JSON_FIELDS_HPP

#include <boost/json/value.hpp>

#include <optional>
#include <string_view>

namespace oemlink::smartcar::json {

inline const boost::json::value* member(const boost::json::value* v, std::string_view key) {
  if (!v || !v->is_object()) return nullptr;
  return v->as_object().if_contains(key);
}

inline const boost::json::array* array(const boost::json::value* v) {
  return v && v->is_array() ? &v->as_array() : nullptr;
}

inline bool is_object(const boost::json::value* v) {
  return v && v->is_object();
}

// A JSON number (not a boolean) as double.
inline std::optional<double> number(const boost::json::value* v) {
  if (!v) return std::nullopt;
  if (v->is_double()) return v->get_double();
  if (v->is_int64()) return static_cast<double>(v->get_int64());
  if (v->is_uint64()) return static_cast<double>(v->get_uint64());
  return std::nullopt;
}

inline std::optional<std::string_view> string(const boost::json::value* v) {
  if (!v || !v->is_string()) return std::nullopt;
  const boost::json::string& s = v->get_string();
  return std::string_view(s.data(), s.size());
}

inline std::optional<bool> boolean(const boost::json::value* v) {
  if (!v || !v->is_bool()) return std::nullopt;
  return v->get_bool();
}

// A string member, or "" when absent or not a string.
inline std::string_view text(const boost::json::value* v, std::string_view key) {
  return string(member(v, key)).value_or(std::string_view());
}

}  // namespace oemlink::smartcar::json

#endif  // OEMLINK_SMARTCAR_JSON_FIELDS_HPP
