#include "core/net/http_date.hpp"

#include <ctime>
#include <string>

namespace oemlink::net {

std::optional<std::chrono::system_clock::time_point> parse_http_date(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  if (text.size() > 64) return std::nullopt;
  const std::string copy(text);  // strptime needs a terminated string
  std::tm tm{};
  const char* end = strptime(copy.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (!end) return std::nullopt;
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

}  // namespace oemlink::net
