#include "core/uplink/https_response_classification.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <string>

namespace oemlink::uplink {
namespace {

std::string_view header(const net::Headers& hs, std::string_view name) {
  for (auto& [k, v] : hs) {
    if (k.size() == name.size() && std::equal(k.begin(), k.end(), name.begin(), [](char a, char b) {
          return std::tolower(a) == std::tolower(b);
        }))
      return v;
  }
  return {};
}

// Retry-After in seconds (the HTTP-date form is rare from APIs; it is treated as absent).
std::chrono::milliseconds retry_after(const net::Headers& hs) {
  std::string_view v = header(hs, "Retry-After");
  while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
  uint64_t secs = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), secs);
  if (ec != std::errc() || p == v.data()) return std::chrono::milliseconds(0);
  return std::chrono::milliseconds(std::min<uint64_t>(secs, 86'400) * 1000);
}

std::string one_line(std::string_view text, size_t max = 500) {
  std::string out(text.substr(0, max));
  for (char& c : out)
    if (c == '\n' || c == '\r') c = ' ';
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

}  // namespace

DeliveryResult classify_https_response(const net::HttpResponse& r, std::string_view client_cert) {
  using K = DeliveryResult::Kind;
  if (!r.transport_ok) {
    std::string e = r.error;
    bool tls = e.find("SSL") != std::string::npos || e.find("TLS") != std::string::npos ||
               e.find("certificate") != std::string::npos;
    if (tls && !client_cert.empty())
      e = "TLS handshake failed (client certificate " + std::string(client_cert) + "): " + e;
    return {K::retry, e, {}};
  }
  long s = r.status;
  if (s >= 200 && s < 300) return {K::delivered, {}, {}};
  std::string body = one_line(r.body);
  if (s == 400 || s == 413) return {K::rejected, "HTTP " + std::to_string(s) + ": " + body, {}};
  if (s == 408 || s == 429 || s >= 500)
    return {K::retry, "HTTP " + std::to_string(s) + (body.empty() ? "" : ": " + body),
            retry_after(r.headers)};
  return {K::retry,
          "HTTP " + std::to_string(s) + " (check the sink's url and client certificate): " + body,
          retry_after(r.headers)};
}

}  // namespace oemlink::uplink
