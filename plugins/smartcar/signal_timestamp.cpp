#include "signal_timestamp.hpp"

#include "json_fields.hpp"

#include <charconv>
#include <cmath>

namespace oemlink::smartcar {
namespace {

std::optional<int64_t> from_epoch_number(double v) {
  if (!std::isfinite(v) || v <= 0) return std::nullopt;
  if (v < 1e11) return static_cast<int64_t>(std::llround(v * 1000));
  if (v < 1e14) return static_cast<int64_t>(std::llround(v));
  return std::nullopt;
}

// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool digits(std::string_view s, size_t pos, size_t n, int& out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  out = v;
  return true;
}

}  // namespace

std::optional<int64_t> parse_iso8601_ms(std::string_view s) {
  int y, mo, d, h, mi, sec;
  if (!digits(s, 0, 4, y) || s.size() < 19 || s[4] != '-' || !digits(s, 5, 2, mo) || s[7] != '-' ||
      !digits(s, 8, 2, d) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
      !digits(s, 11, 2, h) || s[13] != ':' || !digits(s, 14, 2, mi) || s[16] != ':' ||
      !digits(s, 17, 2, sec))
    return std::nullopt;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return std::nullopt;
  size_t pos = 19;
  int64_t ms = 0;
  if (pos < s.size() && (s[pos] == '.' || s[pos] == ',')) {
    ++pos;
    int scale = 100;
    size_t start = pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (scale > 0) ms += (s[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start) return std::nullopt;
  }
  int64_t offset_min = 0;
  if (pos < s.size()) {
    if ((s[pos] == 'Z' || s[pos] == 'z') && pos + 1 == s.size()) {
      ++pos;
    } else if (s[pos] == '+' || s[pos] == '-') {
      int oh, om;
      const bool colon = pos + 3 < s.size() && s[pos + 3] == ':';
      if (!digits(s, pos + 1, 2, oh) || !digits(s, pos + (colon ? 4 : 3), 2, om) || oh > 23 ||
          om > 59)
        return std::nullopt;
      offset_min = (oh * 60 + om) * (s[pos] == '-' ? -1 : 1);
      pos += colon ? 6 : 5;
    }
    if (pos != s.size()) return std::nullopt;
  }
  const int64_t days = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  const int64_t secs = days * 86400 + h * 3600 + mi * 60 + sec - offset_min * 60;
  const int64_t out = secs * 1000 + ms;
  if (out <= 0) return std::nullopt;
  return out;
}

std::optional<int64_t> parse_timestamp_text_ms(std::string_view text) {
  if (text.empty()) return std::nullopt;
  if (text.find_first_not_of("0123456789.") == std::string_view::npos) {
    double v = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
    return from_epoch_number(v);
  }
  return parse_iso8601_ms(text);
}

std::optional<int64_t> parse_timestamp_ms(const boost::json::value* v) {
  if (auto n = json::number(v)) return from_epoch_number(*n);
  if (auto s = json::string(v)) return parse_timestamp_text_ms(*s);
  return std::nullopt;
}

int64_t signal_time_ms(const boost::json::value* meta, int64_t now_ms) {
  for (std::string_view key : {"oemUpdatedAt", "retrievedAt", "fetchedAt"}) {
    if (auto t = parse_timestamp_ms(json::member(meta, key))) return *t;
  }
  return now_ms;
}

}  // namespace oemlink::smartcar
