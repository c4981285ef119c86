#include "core/common/log_line_format.hpp"

#include "core/common/log_redaction.hpp"

#include <spdlog/pattern_formatter.h>

#include <ctime>

namespace oemlink {
namespace {

constexpr char kHex[] = "0123456789abcdef";

// Length of the valid UTF-8 sequence at s[i] (RFC 3629: no overlongs, surrogates or code points
// past U+10FFFF), or 0.
size_t utf8_sequence(std::string_view s, size_t i) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  auto cont = [&](size_t k) { return i + k < s.size() && (b(k) & 0xC0) == 0x80; };
  unsigned char c = b(0);
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(1) || !cont(2)) return 0;
    if (c == 0xE0 && b(1) < 0xA0) return 0;   // overlong
    if (c == 0xED && b(1) >= 0xA0) return 0;  // UTF-16 surrogate
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    if (c == 0xF0 && b(1) < 0x90) return 0;   // overlong
    if (c == 0xF4 && b(1) >= 0x90) return 0;  // past U+10FFFF
    return 4;
  }
  return 0;
}

std::string_view level_name(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace:
      return "trace";
    case spdlog::level::debug:
      return "debug";
    case spdlog::level::info:
      return "info";
    case spdlog::level::warn:
      return "warn";
    case spdlog::level::err:
      return "error";
    default:
      return "critical";
  }
}

void append_rfc3339_ms(std::string& out, std::chrono::system_clock::time_point at) {
  const int64_t ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(at.time_since_epoch()).count();
  const int64_t secs = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
  const auto t = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  int n = std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                        tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                        static_cast<int>(ms - secs * 1000));
  out.append(buf, static_cast<size_t>(n));
}

void append_field(std::string& out, std::string_view key, std::string_view value) {
  if (value.empty()) return;
  out += ",\"";
  out += key;
  out += "\":";
  append_log_json_string(out, value);
}

class JsonLineFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    line_.clear();
    append_json_log_line(line_, msg.time, msg.level,
                         std::string_view(msg.payload.data(), msg.payload.size()),
                         current_log_fields(), current_log_suppressed());
    line_ += '\n';
    dest.append(line_.data(), line_.data() + line_.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonLineFormatter>();
  }

 private:
  std::string line_;  // reused: sinks format under their own mutex, one line at a time
};

// %* in the text pattern: the redacted message and the suppression note.
class TextMessageFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    std::string s = log_message_text(std::string_view(msg.payload.data(), msg.payload.size()),
                                     current_log_suppressed());
    dest.append(s.data(), s.data() + s.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<TextMessageFlag>();
  }
};

}  // namespace

void append_log_json_string(std::string& out, std::string_view s) {
  out.push_back('"');
  size_t run = 0;  // start of the bytes not yet copied
  for (size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7F && c != '"' && c != '\\') {
      ++i;
      continue;
    }
    if (c >= 0x80) {
      if (size_t n = utf8_sequence(s, i)) {
        i += n;
        continue;
      }
    }
    out.append(s.data() + run, i - run);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c >= 0x80) {
          out += "\\ufffd";  // one replacement per invalid byte
        } else {
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 0xF];
        }
    }
    run = ++i;
  }
  out.append(s.data() + run, s.size() - run);
  out.push_back('"');
}

void append_json_log_line(std::string& out, std::chrono::system_clock::time_point at,
                          spdlog::level::level_enum level, std::string_view msg,
                          const LogFields& fields, uint64_t suppressed) {
  out += "{\"ts\":\"";
  append_rfc3339_ms(out, at);
  out += "\",\"level\":\"";
  out += level_name(level);
  out += "\",\"msg\":";
  append_log_json_string(out, redact_secrets(msg));
  append_field(out, "driver", fields.driver);
  append_field(out, "connection", fields.connection);
  append_field(out, "sink", fields.sink);
  append_field(out, "event_id", fields.event_id);
  append_field(out, "route", fields.route);
  append_field(out, "listener", fields.listener);
  if (suppressed) {
    out += ",\"suppressed\":";
    out += std::to_string(suppressed);
  }
  out += '}';
}

std::string log_message_text(std::string_view msg, uint64_t suppressed) {
  const std::string redacted = redact_secrets(msg);
  // One entry stays one entry: a line break (a driver's message, a peer's error text) continues
  // indented, so no text can pass for a line of its own, and other control bytes are escaped.
  std::string s;
  s.reserve(redacted.size());
  for (char ch : redacted) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '\n') {
      s += "\n    ";
    } else if (c == '\r') {
      s += "\\r";
    } else if ((c < 0x20 && c != '\t') || c == 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      s += "\\x";
      s += kHex[c >> 4];
      s += kHex[c & 15];
    } else {
      s += ch;
    }
  }
  if (suppressed) s += " (" + std::to_string(suppressed) + " similar messages suppressed)";
  return s;
}

std::unique_ptr<spdlog::formatter> make_log_formatter(LogLineStyle style) {
  if (style == LogLineStyle::json) return std::make_unique<JsonLineFormatter>();
  auto f = std::make_unique<spdlog::pattern_formatter>();
  f->add_flag<TextMessageFlag>('*').set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%-5l%$ %*");
  return f;
}

}  // namespace oemlink
