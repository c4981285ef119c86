// application/x-www-form-urlencoded, for the OAuth token endpoint.
#ifndef OEMLINK_TESLA_FORM_ENCODING_HPP
#define OEMLINK_TESLA_FORM_ENCODING_HPP

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace oemlink::tesla {

inline std::string percent_encode(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out += char(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

inline std::string form_encode(
    const std::vector<std::pair<std::string_view, std::string_view>>& kv) {
  std::string out;
  for (const auto& [k, v] : kv) {
    if (!out.empty()) out += '&';
    out += percent_encode(k);
    out += '=';
    out += percent_encode(v);
  }
  return out;
}

}  // namespace oemlink::tesla

#endif
