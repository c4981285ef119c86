#include "token_answer.hpp"

#include <boost/json.hpp>

#include <cctype>

namespace oemlink::tesla {

TokenAnswer parse_token_answer(std::string_view body) {
  TokenAnswer out;
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(body, ec);
  if (ec || !v.is_object()) return out;
  const boost::json::object& o = v.as_object();
  const boost::json::value* access = o.if_contains("access_token");
  const boost::json::value* refresh = o.if_contains("refresh_token");
  const boost::json::value* expires_in = o.if_contains("expires_in");
  const bool refresh_ok = refresh && refresh->is_string() && !refresh->as_string().empty();
  if (refresh_ok) out.refresh_token = std::string(refresh->as_string());
  if (!access || !access->is_string() || access->as_string().empty() || !expires_in ||
      !expires_in->is_number() || (refresh && !refresh_ok))
    return out;
  double lifetime_s = expires_in->to_number<double>();
  if (!(lifetime_s >= double(kMinTokenLifetimeS))) lifetime_s = double(kMinTokenLifetimeS);
  if (lifetime_s > double(kMaxTokenLifetimeS)) lifetime_s = double(kMaxTokenLifetimeS);
  out.access_token = std::string(access->as_string());
  out.lifetime_ms = int64_t(lifetime_s * 1000);
  out.well_formed = true;
  return out;
}

std::string oauth_error_code(std::string_view body) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(body, ec);
  if (ec || !v.is_object()) return {};
  const boost::json::value* e = v.as_object().if_contains("error");
  if (!e || !e->is_string() || e->as_string().empty() || e->as_string().size() > 64) return {};
  for (char c : e->as_string())
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.') return {};
  return std::string(e->as_string());
}

}  // namespace oemlink::tesla
