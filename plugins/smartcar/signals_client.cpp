#include "signals_client.hpp"

#include "json_fields.hpp"

#include <boost/json/parse.hpp>

namespace oemlink::smartcar {
namespace {

// "https://host:port" of an absolute URL, and the path after it.
std::pair<std::string_view, std::string_view> split_origin(std::string_view url) {
  const size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return {{}, url};
  const size_t path = url.find_first_of("/?#", scheme + 3);
  if (path == std::string_view::npos) return {url, {}};
  return {url.substr(0, path), url.substr(path)};
}

bool same_origin(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

}  // namespace

std::string url_encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::string signals_url(std::string_view api_base, std::string_view vehicle_id) {
  return std::string(api_base) + "/vehicles/" + url_encode(vehicle_id) + "/signals";
}

std::optional<std::string> resolve_next(std::string_view api_base, std::string_view current_url,
                                        std::string_view next, bool* refused) {
  if (refused) *refused = false;
  if (next.empty()) return std::nullopt;
  for (char c : next) {
    if (static_cast<unsigned char>(c) <= 0x20) {  // no whitespace or control bytes in a URL
      if (refused) *refused = true;
      return std::nullopt;
    }
  }
  const auto [base_origin, base_path] = split_origin(api_base);
  if (next.find("://") != std::string_view::npos) {
    const auto [origin, path] = split_origin(next);
    if (!same_origin(origin, base_origin)) {
      if (refused) *refused = true;
      return std::nullopt;
    }
    return std::string(next);
  }
  if (next.starts_with("//")) {  // scheme-relative: another host
    if (refused) *refused = true;
    return std::nullopt;
  }
  if (next.front() == '/') {
    if (!base_path.empty() && next.starts_with(base_path) &&
        (next.size() == base_path.size() || next[base_path.size()] == '/' ||
         next[base_path.size()] == '?'))
      return std::string(base_origin) + std::string(next);
    return std::string(api_base) + std::string(next);
  }
  if (next.front() == '?') {
    std::string_view cur = current_url.substr(0, current_url.find('?'));
    return std::string(cur) + std::string(next);
  }
  return std::string(api_base) + "/" + std::string(next);
}

std::optional<SignalsPage> parse_signals_page(std::string_view body, std::string& error) {
  SignalsPage page;
  boost::system::error_code ec;
  page.doc = boost::json::parse(body, ec);
  if (ec) {
    error = "signals page is not JSON (" + ec.message() + ")";
    return std::nullopt;
  }
  page.data = json::array(json::member(&page.doc, "data"));
  if (!page.data) {
    error = "signals page has no data list";
    return std::nullopt;
  }
  page.next = std::string(json::text(json::member(&page.doc, "links"), "next"));
  return page;
}

}  // namespace oemlink::smartcar
