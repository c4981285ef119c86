#include "fleet_api_status.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>

namespace oemlink::tesla {
namespace {

constexpr int64_t kDefaultRateLimitSeconds = 60;
constexpr size_t kMaxReason = 200;

std::string clip(std::string s) {
  for (char& c : s)
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  if (s.size() > kMaxReason) s = s.substr(0, kMaxReason) + "...";
  return s;
}

int64_t leading_integer(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '"')) s.remove_prefix(1);
  int64_t n = -1;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc() || ptr == s.data() || n < 0) return -1;
  return n;
}

bool host_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':';
}

// A base URL at the start of `s` ("https://host[:port][/path]", or http:// where the host's
// client allows it, as for a local mock) up to the first delimiter of a header or a sentence;
// everything of it is kept (a region may be a path under one host), but a trailing '/' and the
// default https port. Empty when `s` does not start with a URL naming a host.
std::string take_base_url(std::string_view s) {
  size_t scheme = 0;
  if (s.substr(0, 8) == "https://")
    scheme = 8;
  else if (s.substr(0, 7) == "http://")
    scheme = 7;
  else
    return {};
  size_t end = scheme;
  while (end < s.size() && s[end] != '"' && s[end] != ',' && s[end] != ';' && s[end] != ' ' &&
         s[end] != '\t')
    ++end;
  std::string url(s.substr(0, end));
  while (url.size() > scheme && url.back() == '/') url.pop_back();
  const size_t host_end = url.find('/', scheme);
  if (host_end == scheme || url.size() == scheme) return {};
  for (size_t i = scheme; i < std::min(host_end, url.size()); ++i)
    if (!host_char(url[i])) return {};
  if (scheme == 8 && host_end == std::string::npos && url.size() > 12 &&
      url.compare(url.size() - 4, 4, ":443") == 0)
    url.resize(url.size() - 4);
  return url;
}

}  // namespace

std::string envelope_error(std::string_view body) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(body, ec);
  if (ec || !v.is_object()) return clip(std::string(body.substr(0, kMaxReason)));
  std::string out;
  if (auto* e = v.as_object().if_contains("error"); e && e->is_string())
    out = std::string(e->as_string());
  if (auto* d = v.as_object().if_contains("error_description");
      d && d->is_string() && !d->as_string().empty())
    out += (out.empty() ? "" : ": ") + std::string(d->as_string());
  return clip(out);
}

int64_t retry_after_seconds(const HttpResponse& r) {
  if (int64_t s = leading_integer(r.header("Retry-After")); s >= 0) return s;
  if (int64_t s = leading_integer(r.header("RateLimit-Reset")); s >= 0) return s;
  const std::string_view marker = "Retry in ";
  if (size_t at = r.body.find(marker); at != std::string_view::npos)
    return leading_integer(r.body.substr(at + marker.size()));
  return -1;
}

std::string misdirected_base_url(const HttpResponse& r) {
  const std::string_view alt = r.header("Alt-Svc");
  if (size_t at = alt.find("h2="); at != std::string_view::npos) {
    std::string_view v = alt.substr(at + 3);
    if (!v.empty() && v.front() == '"') v.remove_prefix(1);
    // Tesla's form: everything after h2= is the base URL (the mock's carries a region path).
    if (std::string url = take_base_url(v); !url.empty()) return url;
    // h2="host:port" (the RFC 7838 form) names a host without a scheme.
    size_t end = 0;
    while (end < v.size() && host_char(v[end])) ++end;
    if (end > 0 && (end == v.size() || v[end] == '"' || v[end] == ',' || v[end] == ';')) {
      std::string url = take_base_url("https://" + std::string(v.substr(0, end)));
      if (!url.empty()) return url;
    }
  }
  const std::string text = envelope_error(r.body);
  const size_t https = text.find("https://"), http = text.find("http://");
  if (const size_t at = std::min(https, http); at != std::string::npos)
    return take_base_url(std::string_view(text).substr(at));
  return {};
}

ApiOutcome classify_fleet_response(const HttpResponse& r, int64_t now_ms) {
  ApiOutcome out;
  if (r.status != OEMLINK_OK) {
    out.kind = ApiOutcome::Kind::retry;
    out.reason = "transport failure: " + clip(std::string(r.error));
    return out;
  }
  const int code = r.http_status;
  out.http_status = code;
  out.billed = code < 500;
  // Before the envelope is read: a 2xx body is the caller's to parse, and parsing a
  // vehicle_data answer twice was a tenth of the event loop at 1,600 polls/s (BENCHMARKS.md).
  if (code >= 200 && code < 300) {
    out.kind = ApiOutcome::Kind::ok;
    return out;
  }
  const std::string error = envelope_error(r.body);
  auto with_code = [&](std::string_view what) {
    return "HTTP " + std::to_string(code) + " " + std::string(what) +
           (error.empty() ? "" : " (" + error + ")");
  };
  switch (code) {
    case 401:
      out.kind = ApiOutcome::Kind::unauthorized;
      out.reason = with_code("unauthorized");
      return out;
    case 408:
      out.kind = ApiOutcome::Kind::asleep;
      out.reason = "vehicle offline or asleep (408)";
      return out;
    case 421:
      out.kind = ApiOutcome::Kind::misdirected;
      out.redirect_base = misdirected_base_url(r);
      out.reason = with_code("wrong region");
      return out;
    case 429: {
      int64_t s = retry_after_seconds(r);
      // Retry-After counts whole seconds: the limit may lift up to a second after now + N (and
      // our clock reads whole ms), and a request that lands before it is refused and billed.
      const int64_t margin_ms = s >= 0 ? 1000 : 0;
      if (s < 0) s = kDefaultRateLimitSeconds;
      out.kind = ApiOutcome::Kind::rate_limited;
      out.until_ms = now_ms + std::min<int64_t>(s, 30LL * 86400) * 1000 + margin_ms;
      out.reason = "HTTP 429 rate limited, Retry-After " + std::to_string(s) + " s";
      return out;
    }
    case 402:
      out.kind = ApiOutcome::Kind::failed;
      out.reason = with_code("payment required: the application is disabled for billing");
      return out;
    case 403:
      out.kind = ApiOutcome::Kind::failed;
      out.reason = with_code("forbidden: the token lacks a scope this call needs");
      return out;
    case 404:
      out.kind = ApiOutcome::Kind::failed;
      out.reason = with_code("vehicle not found for this account");
      return out;
    case 412:
      out.kind = ApiOutcome::Kind::failed;
      out.reason =
          with_code("partner not registered in this region (POST /api/1/partner_accounts)");
      return out;
    case 423:
      out.kind = ApiOutcome::Kind::failed;
      out.reason = with_code("account locked by Tesla");
      return out;
    case 451:
      out.kind = ApiOutcome::Kind::failed;
      out.reason = with_code("unavailable for legal reasons");
      return out;
    default:
      break;
  }
  if (code >= 500) {
    // Tesla answers a sleeping car with the 408 body under 500/503 too (VC#226).
    if (error.find("vehicle unavailable") != std::string::npos) {
      out.kind = ApiOutcome::Kind::asleep;
      out.reason = with_code("vehicle offline or asleep");
      return out;
    }
    out.kind = ApiOutcome::Kind::retry;
    out.reason = with_code("server error");
    return out;
  }
  // Other 4xx (400, 405, 406, 409, 410, ...): the request itself is wrong; retrying the same
  // request would be billed and fail again, so the car stops with the reason.
  out.kind = ApiOutcome::Kind::failed;
  out.reason = with_code("request refused");
  return out;
}

}  // namespace oemlink::tesla
