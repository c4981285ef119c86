#include "jwt_scope.hpp"

#include "base64.hpp"

#include <boost/json.hpp>

namespace oemlink::tesla {
namespace {

std::optional<boost::json::value> jwt_payload(std::string_view token) {
  const size_t a = token.find('.');
  if (a == std::string_view::npos) return std::nullopt;
  const size_t b = token.find('.', a + 1);
  if (b == std::string_view::npos) return std::nullopt;
  auto payload = base64_decode(token.substr(a + 1, b - a - 1));
  if (!payload) return std::nullopt;
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(*payload, ec);
  if (ec || !v.is_object()) return std::nullopt;
  return v;
}

}  // namespace

std::optional<std::string> jwt_subject(std::string_view token) {
  auto v = jwt_payload(token);
  if (!v) return std::nullopt;
  const boost::json::value* sub = v->as_object().if_contains("sub");
  if (!sub || !sub->is_string() || sub->as_string().empty()) return std::nullopt;
  return std::string(sub->as_string());
}

std::optional<std::vector<std::string>> jwt_scopes(std::string_view token) {
  auto payload = jwt_payload(token);
  if (!payload) return std::nullopt;
  const boost::json::value& v = *payload;
  std::vector<std::string> out;
  if (auto* scp = v.as_object().if_contains("scp"); scp && scp->is_array()) {
    for (const auto& s : scp->as_array())
      if (s.is_string()) out.emplace_back(s.as_string());
    return out;
  }
  if (auto* scope = v.as_object().if_contains("scope"); scope && scope->is_string()) {
    std::string_view rest = scope->as_string();
    while (!rest.empty()) {
      const size_t sp = rest.find(' ');
      if (sp != 0) out.emplace_back(rest.substr(0, sp));
      if (sp == std::string_view::npos) break;
      rest.remove_prefix(sp + 1);
    }
    return out;
  }
  return std::nullopt;
}

bool jwt_has_scope(std::string_view token, std::string_view scope) {
  auto scopes = jwt_scopes(token);
  if (!scopes) return false;
  for (const auto& s : *scopes)
    if (s == scope) return true;
  return false;
}

}  // namespace oemlink::tesla
