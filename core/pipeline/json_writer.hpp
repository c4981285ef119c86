// Appends JSON text to a std::string without building a DOM: events are serialized exactly
// once, and those bytes are what gets hashed, signed and sent.
#pragma once

#include <charconv>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/common/hex.hpp"
#include "core/common/json_string.hpp"

namespace oemlink::pipeline {

// JSON strings are written the one way the store and the host write them too.
using oemlink::append_json_string;

// Shortest round-trip form; integers print without a fraction, -0 prints as 0.
// Callers must have rejected NaN and infinities.
inline void append_json_number(std::string& out, double v) {
  if (v == 0) v = 0;  // folds -0
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

inline void append_json_uint(std::string& out, uint64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

// RFC 3339 UTC with milliseconds, e.g. 2025-03-04T12:01:00.123Z.
inline void append_rfc3339_ms(std::string& out, int64_t unix_ms) {
  int64_t secs = unix_ms >= 0 ? unix_ms / 1000 : (unix_ms - 999) / 1000;
  int ms = static_cast<int>(unix_ms - secs * 1000);
  int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
  int sod = static_cast<int>(secs - days * 86400);
  // Civil-from-days (H. Hinnant's algorithm): proleptic Gregorian, no time zone database.
  days += 719468;
  int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  unsigned doe = static_cast<unsigned>(days - era * 146097);
  unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t y = static_cast<int64_t>(yoe) + era * 400;
  unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  unsigned mp = (5 * doy + 2) / 153;
  unsigned d = doy - (153 * mp + 2) / 5 + 1;
  unsigned m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
  char buf[32];
  auto put = [&](char* p, unsigned v, int width) {
    for (int i = width - 1; i >= 0; --i) {
      p[i] = static_cast<char>('0' + v % 10);
      v /= 10;
    }
  };
  put(buf, static_cast<unsigned>(y), 4);
  buf[4] = '-';
  put(buf + 5, m, 2);
  buf[7] = '-';
  put(buf + 8, d, 2);
  buf[10] = 'T';
  put(buf + 11, static_cast<unsigned>(sod / 3600), 2);
  buf[13] = ':';
  put(buf + 14, static_cast<unsigned>(sod / 60 % 60), 2);
  buf[16] = ':';
  put(buf + 17, static_cast<unsigned>(sod % 60), 2);
  buf[19] = '.';
  put(buf + 20, static_cast<unsigned>(ms), 3);
  buf[23] = 'Z';
  out.push_back('"');
  out.append(buf, 24);
  out.push_back('"');
}

}  // namespace oemlink::pipeline
