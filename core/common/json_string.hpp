// JSON text written without a DOM, one way for every part: the events the pipeline signs, the
// identifiers the connection store compares byte for byte with the YAML's, and the JSON log lines.
#pragma once

#include "core/common/hex.hpp"

#include <map>
#include <string>
#include <string_view>

namespace oemlink {

inline void append_json_string(std::string& out, std::string_view s) {
  out.push_back('"');
  // Runs that need no escaping (nearly everything: signal names, ids) go in one append.
  size_t run = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + run, i - run);
    run = i + 1;
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
        out += "\\u00";
        append_hex(out, {&c, 1});
    }
  }
  out.append(s.data() + run, s.size() - run);
  out.push_back('"');
}

// {"k":"v",...} in key order: a connection's identifiers, so equal maps give equal bytes.
inline std::string json_object_of(const std::map<std::string, std::string>& m) {
  std::string out = "{";
  for (const auto& [k, v] : m) {
    if (out.size() > 1) out += ",";
    append_json_string(out, k);
    out += ":";
    append_json_string(out, v);
  }
  return out + "}";
}

}  // namespace oemlink
