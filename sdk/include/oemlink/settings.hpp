// oemlink driver SDK — typed settings: declare each setting once, get both the table the host
// validates the YAML against and the struct your driver reads.
//
//   struct AcmeSettings {
//     std::string client_id;
//     uint32_t page_size = 50;
//     std::chrono::milliseconds token_margin{0};
//   };
//   constexpr oemlink::SettingsTable kSettings{
//       oemlink::field("client_id", OEMLINK_SETTING_STRING, OEMLINK_SETTING_REQUIRED, nullptr,
//                      "OAuth client id", &AcmeSettings::client_id),
//       oemlink::field("page_size", OEMLINK_SETTING_INT, 0, "50", "Vehicles per list call",
//                      &AcmeSettings::page_size),
//       oemlink::field("token_margin", OEMLINK_SETTING_DURATION_MS, 0, "5m",
//                      "Refresh this long before expiry", &AcmeSettings::token_margin),
//   };
//   OEMLINK_DRIVER(AcmeDriver, "acme", "0.1.0", "Acme Motors", OEMLINK_CAP_POLL, kSettings)
//
// AcmeDriver's constructor then takes (oemlink::Host, const AcmeSettings&); or it takes the
// JSON text and calls kSettings.parse(json) itself.
//
// The host has already checked every value against the row's type and filled in the defaults,
// so parse() only decodes: a row's value lands in its member, a member's own initializer
// survives only for a setting without a default that the operator left out. What the host
// cannot know (ranges, enumerations, cross-field rules) stays the driver's to check.
//
// Which member types each row type accepts (std::optional<T> of any of them as well, to tell
// "left out" from "given"), checked at compile time:
//   STRING       std::string
//   INT          any integer type but bool (a value outside its range fails parse())
//   NUMBER       float, double
//   BOOL         bool
//   DURATION_MS  any integer type (milliseconds), or a std::chrono::duration that holds
//                milliseconds exactly (milliseconds, microseconds, ...)
//   OBJECT       oemlink::JsonText (the raw JSON, for your JSON library), or
//                std::vector<std::string> (a list of strings; anything else fails parse())
//
// Depends on the C++ standard library only.
#ifndef OEMLINK_SETTINGS_HPP
#define OEMLINK_SETTINGS_HPP

#include <oemlink/driver.h>
#include <oemlink/settings_json.hpp>

#include <array>
#include <charconv>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <tuple>
#include <type_traits>
#include <vector>

namespace oemlink {

// The JSON text of an OBJECT setting (a mapping or a sequence), exactly as the host sent it.
struct JsonText {
  std::string text;
  bool operator==(const JsonText&) const = default;
};

// A settings-table row as the host sees it.
constexpr oemlink_setting setting(const char* name, oemlink_setting_type type, uint32_t flags,
                                  const char* default_value, const char* description) {
  return oemlink_setting{sizeof(oemlink_setting), name, type, flags, default_value, description};
}

namespace detail {

template <class T>
struct Unoptional {
  using type = T;
};
template <class T>
struct Unoptional<std::optional<T>> {
  using type = T;
};

template <class T>
struct IsDuration : std::false_type {};
template <class R, class P>
struct IsDuration<std::chrono::duration<R, P>> : std::true_type {};

template <class V>
constexpr bool is_integer_v = std::is_integral_v<V> && !std::is_same_v<V, bool>;

template <class V>
constexpr bool holds_milliseconds() {
  if constexpr (is_integer_v<V>) {
    return true;
  } else if constexpr (IsDuration<V>::value) {
    return std::is_convertible_v<std::chrono::milliseconds, V>;
  } else {
    return false;
  }
}

template <class M>
constexpr bool member_fits(oemlink_setting_type type) {
  using V = typename Unoptional<M>::type;
  switch (type) {
    case OEMLINK_SETTING_STRING:
      return std::is_same_v<V, std::string>;
    case OEMLINK_SETTING_INT:
      return is_integer_v<V>;
    case OEMLINK_SETTING_NUMBER:
      return std::is_floating_point_v<V>;
    case OEMLINK_SETTING_BOOL:
      return std::is_same_v<V, bool>;
    case OEMLINK_SETTING_DURATION_MS:
      return holds_milliseconds<V>();
    case OEMLINK_SETTING_OBJECT:
      return std::is_same_v<V, JsonText> || std::is_same_v<V, std::vector<std::string>>;
    default:
      return false;
  }
}

constexpr bool same_name(const char* a, const char* b) {
  while (*a && *a == *b) {
    ++a;
    ++b;
  }
  return *a == *b;
}

[[noreturn]] inline void bad_value(const char* name, std::string_view what) {
  throw std::invalid_argument("setting '" + std::string(name) + "' " + std::string(what));
}

template <class I>
I decode_integer(const char* name, const JsonValue& v) {
  if (v.kind != JsonValue::Kind::number || v.raw.find_first_of(".eE") != std::string_view::npos) {
    bad_value(name, "is not an integer");
  }
  // Parsed in the widest type of the member's signedness, then range-checked, so the message
  // names the member's own bounds.
  using Wide = std::conditional_t<std::is_signed_v<I>, int64_t, uint64_t>;
  Wide n = 0;
  const char* end = v.raw.data() + v.raw.size();
  const bool negative_into_unsigned = std::is_unsigned_v<I> && v.raw.front() == '-';
  if (!negative_into_unsigned) {
    auto [ptr, ec] = std::from_chars(v.raw.data(), end, n);
    if (ec == std::errc() && ptr == end && n >= static_cast<Wide>(std::numeric_limits<I>::min()) &&
        n <= static_cast<Wide>(std::numeric_limits<I>::max())) {
      return static_cast<I>(n);
    }
  }
  bad_value(name, "must be between " + std::to_string(std::numeric_limits<I>::min()) + " and " +
                      std::to_string(std::numeric_limits<I>::max()));
}

template <class V>
V decode(const char* name, const JsonValue& v) {
  using Kind = JsonValue::Kind;
  if constexpr (std::is_same_v<V, std::string>) {
    if (v.kind != Kind::string) bad_value(name, "is not a string");
    return v.text;
  } else if constexpr (std::is_same_v<V, bool>) {
    if (v.kind != Kind::boolean) bad_value(name, "is not true or false");
    return v.flag;
  } else if constexpr (std::is_floating_point_v<V>) {
    if (v.kind != Kind::number) bad_value(name, "is not a number");
    double d = 0;
    const char* end = v.raw.data() + v.raw.size();
    auto [ptr, ec] = std::from_chars(v.raw.data(), end, d);
    if (ec != std::errc() || ptr != end) bad_value(name, "is out of range");
    return static_cast<V>(d);
  } else if constexpr (IsDuration<V>::value) {
    return std::chrono::milliseconds(decode_integer<int64_t>(name, v));
  } else if constexpr (std::is_integral_v<V>) {
    return decode_integer<V>(name, v);
  } else if constexpr (std::is_same_v<V, JsonText>) {
    if (v.kind != Kind::composite) bad_value(name, "is not a mapping or a list");
    return JsonText{std::string(v.raw)};
  } else {
    static_assert(std::is_same_v<V, std::vector<std::string>>);
    std::optional<std::vector<std::string>> list;
    if (v.kind == Kind::composite) list = JsonReader::string_array(v.raw);
    if (!list) bad_value(name, "is not a list of strings");
    return std::move(*list);
  }
}

}  // namespace detail

// One row of a typed settings table: the row the host sees, and the member it fills.
template <class S, class M>
struct SettingField {
  oemlink_setting row;
  M S::*member;

  // Decodes `value` into `out` when this row is called `key`; false for another key.
  bool assign(std::string_view key, const detail::JsonValue& value, S& out) const {
    if (key != row.name) return false;
    // A null is what a hand-written settings object says for "left out".
    if (value.kind == detail::JsonValue::Kind::null) return true;
    using V = typename detail::Unoptional<M>::type;
    out.*member = detail::decode<V>(row.name, value);
    return true;
  }
};

// Declares one setting: how the host validates it (name, type, flags, default as YAML text,
// description) and the member of the driver's settings struct it lands in. A member type that
// cannot hold the row's type stops the build.
template <class S, class M>
consteval SettingField<S, M> field(const char* name, oemlink_setting_type type, uint32_t flags,
                                   const char* default_value, const char* description,
                                   M S::*member) {
  if (!detail::member_fits<M>(type)) {
    throw "oemlink::field: the member's C++ type cannot hold this setting type (see settings.hpp)";
  }
  if (!name || !*name) throw "oemlink::field: a setting needs a name";
  if ((flags & OEMLINK_SETTING_REQUIRED) && default_value) {
    throw "oemlink::field: a required setting has no default";
  }
  return SettingField<S, M>{setting(name, type, flags, default_value, description), member};
}

// A driver's settings table, built at compile time from its fields. Pass it to OEMLINK_DRIVER
// as the settings; parse() turns the host's settings JSON into an S.
template <class S, class... M>
class SettingsTable {
 public:
  using Settings = S;

  consteval explicit SettingsTable(SettingField<S, M>... fields)
      : fields_(fields...), rows_{fields.row...} {
    for (size_t i = 0; i < rows_.size(); ++i) {
      for (size_t j = i + 1; j < rows_.size(); ++j) {
        if (detail::same_name(rows_[i].name, rows_[j].name)) {
          throw "oemlink::SettingsTable: two settings share a name";
        }
      }
    }
  }

  constexpr const oemlink_setting* data() const { return rows_.data(); }
  static constexpr size_t size() { return sizeof...(M); }
  constexpr std::span<const oemlink_setting> rows() const { return rows_; }

  // Reads the host's settings JSON. Throws std::invalid_argument naming the setting at fault
  // (or the byte where the JSON breaks); a key that is not in the table is refused.
  S parse(std::string_view settings_json) const {
    S out{};
    detail::JsonReader reader(settings_json);
    reader.begin_object();
    std::string key;
    detail::JsonValue value;
    while (reader.next_member(key, value)) {
      const bool known =
          std::apply([&](const auto&... f) { return (f.assign(key, value, out) || ...); }, fields_);
      if (!known) throw std::invalid_argument("unknown setting '" + key + "'");
    }
    return out;
  }

 private:
  std::tuple<SettingField<S, M>...> fields_;
  std::array<oemlink_setting, sizeof...(M)> rows_;
};

template <class S, class... M>
SettingsTable(SettingField<S, M>...) -> SettingsTable<S, M...>;

}  // namespace oemlink

#endif  // OEMLINK_SETTINGS_HPP
