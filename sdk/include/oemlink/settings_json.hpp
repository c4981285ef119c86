// oemlink driver SDK — the small JSON reader behind typed settings (settings.hpp).
//
// The host hands create() its settings as one JSON object whose keys are rows of the driver's
// table and whose values already have the row's type. This reader walks that object member by
// member; it decodes strings and numbers, keeps nested values as their raw text, and rejects
// malformed input with the byte offset. It is not a general JSON library: drivers that parse
// OEM responses link one of their own.
//
// Depends on the C++ standard library only.
#ifndef OEMLINK_SETTINGS_JSON_HPP
#define OEMLINK_SETTINGS_JSON_HPP

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace oemlink::detail {

// One value of the settings object, as a view into the settings text.
struct JsonValue {
  enum class Kind { null, boolean, number, string, composite };
  Kind kind = Kind::null;
  std::string_view raw;  // the value's text: a number's digits, a composite's whole text
  bool flag = false;     // for boolean
  std::string text;      // for string: decoded UTF-8
};

class JsonReader {
 public:
  explicit JsonReader(std::string_view text) : s_(text) {}

  // Reads the opening brace of the top-level object. Empty text counts as an empty object.
  void begin_object() {
    skip_ws();
    if (at_end()) {
      empty_ = true;
      return;
    }
    if (s_[i_] != '{') throw std::invalid_argument("settings must be a JSON object");
    ++i_;
    skip_ws();
    if (peek('}')) {
      ++i_;
      empty_ = true;
      expect_end();
    }
  }

  // Reads the next member of the top-level object into `key`/`value`; false after the last.
  bool next_member(std::string& key, JsonValue& value) {
    if (empty_ || done_) return false;
    skip_ws();
    key = read_string();
    skip_ws();
    expect(':');
    value = read_value();
    skip_ws();
    if (peek(',')) {
      ++i_;
    } else {
      expect('}');
      done_ = true;
      expect_end();
    }
    return true;
  }

  // Decodes a composite's raw text as an array of strings; nullopt when it is anything else.
  static std::optional<std::vector<std::string>> string_array(std::string_view raw) {
    JsonReader r(raw);
    r.skip_ws();
    if (!r.peek('[')) return std::nullopt;
    ++r.i_;
    std::vector<std::string> out;
    r.skip_ws();
    if (r.peek(']')) return out;
    for (;;) {
      r.skip_ws();
      if (!r.peek('"')) return std::nullopt;
      out.push_back(r.read_string());
      r.skip_ws();
      if (r.peek(']')) return out;
      r.expect(',');
    }
  }

 private:
  [[noreturn]] void fail(std::string_view what) const {
    throw std::invalid_argument("settings are not valid JSON (byte " + std::to_string(i_) +
                                "): " + std::string(what));
  }
  bool at_end() const { return i_ >= s_.size(); }
  bool peek(char c) const { return !at_end() && s_[i_] == c; }
  void skip_ws() {
    while (!at_end() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) {
      ++i_;
    }
  }
  void expect(char c) {
    if (!peek(c)) fail(std::string("expected '") + c + "'");
    ++i_;
  }
  void expect_end() {
    skip_ws();
    if (!at_end()) fail("unexpected text after the settings object");
  }
  void expect_word(std::string_view word) {
    if (s_.substr(i_, word.size()) != word) fail("unknown literal");
    i_ += word.size();
  }

  JsonValue read_value() {
    skip_ws();
    if (at_end()) fail("expected a value");
    JsonValue v;
    const size_t start = i_;
    switch (s_[i_]) {
      case '"':
        v.kind = JsonValue::Kind::string;
        v.text = read_string();
        break;
      case '{':
      case '[':
        v.kind = JsonValue::Kind::composite;
        skip_composite(0);
        break;
      case 't':
        v.kind = JsonValue::Kind::boolean;
        v.flag = true;
        expect_word("true");
        break;
      case 'f':
        v.kind = JsonValue::Kind::boolean;
        expect_word("false");
        break;
      case 'n':
        expect_word("null");
        break;
      default:
        v.kind = JsonValue::Kind::number;
        skip_number();
    }
    v.raw = s_.substr(start, i_ - start);
    return v;
  }

  void skip_number() {
    if (peek('-')) ++i_;
    auto digits = [&] {
      const size_t from = i_;
      while (!at_end() && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
      return i_ - from;
    };
    const bool leading_zero = peek('0');
    const size_t integer_digits = digits();
    if (integer_digits == 0) fail("expected a value");
    if (leading_zero && integer_digits > 1) fail("a number must not have a leading zero");
    if (peek('.')) {
      ++i_;
      if (digits() == 0) fail("expected digits after '.'");
    }
    if (peek('e') || peek('E')) {
      ++i_;
      if (peek('+') || peek('-')) ++i_;
      if (digits() == 0) fail("expected digits in the exponent");
    }
  }

  // Nested settings values (OBJECT rows) are validated and kept as raw text.
  void skip_composite(int depth) {
    if (depth > 64) fail("nesting is too deep");
    const char close = s_[i_] == '{' ? '}' : ']';
    ++i_;
    skip_ws();
    if (peek(close)) {
      ++i_;
      return;
    }
    for (;;) {
      skip_ws();
      if (close == '}') {
        read_string();
        skip_ws();
        expect(':');
        skip_ws();
      }
      if (peek('{') || peek('[')) {
        skip_composite(depth + 1);
      } else {
        read_value();
      }
      skip_ws();
      if (peek(close)) {
        ++i_;
        return;
      }
      expect(',');
    }
  }

  static void append_utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  uint32_t read_hex4() {
    if (s_.size() - i_ < 4) fail("truncated \\u escape");
    uint32_t cp = 0;
    auto [end, ec] = std::from_chars(s_.data() + i_, s_.data() + i_ + 4, cp, 16);
    if (ec != std::errc() || end != s_.data() + i_ + 4) fail("bad \\u escape");
    i_ += 4;
    return cp;
  }

  std::string read_string() {
    expect('"');
    std::string out;
    for (;;) {
      if (at_end()) fail("unterminated string");
      const char c = s_[i_++];
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20) fail("control character in a string");
      if (c != '\\') {
        out += c;
        continue;
      }
      if (at_end()) fail("unterminated string");
      switch (const char e = s_[i_++]) {
        case '"':
        case '\\':
        case '/':
          out += e;
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          uint32_t cp = read_hex4();
          if (cp >= 0xD800 && cp < 0xDC00) {
            if (s_.substr(i_, 2) != "\\u") fail("unpaired surrogate");
            i_ += 2;
            const uint32_t low = read_hex4();
            if (low < 0xDC00 || low >= 0xE000) fail("unpaired surrogate");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          } else if (cp >= 0xDC00 && cp < 0xE000) {
            fail("unpaired surrogate");
          }
          append_utf8(out, cp);
          break;
        }
        default:
          fail("unknown escape");
      }
    }
  }

  std::string_view s_;
  size_t i_ = 0;
  bool empty_ = false;
  bool done_ = false;
};

}  // namespace oemlink::detail

#endif  // OEMLINK_SETTINGS_JSON_HPP
