#include "core/net/response_header_parser.hpp"

namespace oemlink::net {
namespace {

std::string_view trim(std::string_view s) {
  constexpr std::string_view kSpace = " \t\r\n";
  const auto first = s.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  const auto last = s.find_last_not_of(kSpace);
  return s.substr(first, last - first + 1);
}

}  // namespace

void ResponseHeaderParser::feed(std::string_view line) {
  if (line.starts_with("HTTP/")) {
    headers_.clear();
    return;
  }
  // Obsolete line folding (RFC 9112 5.2): a continuation belongs to the previous value.
  if (!line.empty() && (line.front() == ' ' || line.front() == '\t')) {
    const auto more = trim(line);
    if (!headers_.empty() && !more.empty()) {
      auto& value = headers_.back().second;
      if (!value.empty()) value += ' ';
      value += more;
    }
    return;
  }
  const auto colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) return;  // blank separator or junk
  headers_.emplace_back(std::string(line.substr(0, colon)),
                        std::string(trim(line.substr(colon + 1))));
}

}  // namespace oemlink::net
