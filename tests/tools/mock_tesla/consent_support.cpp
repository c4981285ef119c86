#include "tests/tools/mock_tesla/consent_support.hpp"

#include <gtest/gtest.h>

namespace oemlink::mock_oem::testing {

std::string url_encode(const std::string& s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += char(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string url_decode(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      out += char(std::stoi(s.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += s[i] == '+' ? ' ' : s[i];
    }
  }
  return out;
}

std::map<std::string, std::string> query_params(const std::string& url_or_query) {
  std::map<std::string, std::string> out;
  const size_t q = url_or_query.find('?');
  std::string rest = q == std::string::npos ? url_or_query : url_or_query.substr(q + 1);
  while (!rest.empty()) {
    const size_t amp = rest.find('&');
    const std::string pair = rest.substr(0, amp);
    const size_t eq = pair.find('=');
    out[url_decode(pair.substr(0, eq))] =
        eq == std::string::npos ? "" : url_decode(pair.substr(eq + 1));
    if (amp == std::string::npos) break;
    rest = rest.substr(amp + 1);
  }
  return out;
}

std::string authorize_url(const MockTesla& mock, const AuthorizeParams& p) {
  std::string url = mock.base() +
                    "/oauth2/v3/authorize?response_type=" + url_encode(p.response_type) +
                    "&client_id=" + url_encode(p.client_id) +
                    "&redirect_uri=" + url_encode(p.redirect_uri) + "&scope=" + url_encode(p.scope);
  if (!p.state.empty()) url += "&state=" + url_encode(p.state);
  if (!p.code_challenge.empty()) url += "&code_challenge=" + url_encode(p.code_challenge);
  if (!p.code_challenge_method.empty())
    url += "&code_challenge_method=" + url_encode(p.code_challenge_method);
  return url + "&prompt_missing_scopes=true";
}

std::string request_id(const std::string& page) {
  const std::string marker = "name=\"request\" value=\"";
  const size_t at = page.find(marker);
  if (at == std::string::npos) return {};
  const size_t start = at + marker.size();
  return page.substr(start, page.find('"', start) - start);
}

HttpAnswer decide(const MockTesla& mock, const std::string& request, const std::string& decision,
                  const std::string& account) {
  std::string body = "request=" + url_encode(request) + "&decision=" + url_encode(decision);
  if (!account.empty()) body += "&account=" + url_encode(account);
  return http("POST", mock.base() + "/oauth2/v3/authorize/decision", body,
              {"Content-Type: application/x-www-form-urlencoded"});
}

std::map<std::string, std::string> approve(const MockTesla& mock, const AuthorizeParams& p,
                                           const std::string& account) {
  const HttpAnswer page = http("GET", authorize_url(mock, p));
  EXPECT_EQ(page.status, 200) << page.body;
  const HttpAnswer decided = decide(mock, request_id(page.body), "approve", account);
  EXPECT_EQ(decided.status, 302) << decided.body;
  const auto location = decided.headers.find("location");
  if (location == decided.headers.end()) return {};
  EXPECT_EQ(location->second.rfind(
                p.redirect_uri + (p.redirect_uri.find('?') == std::string::npos ? "?" : "&"), 0),
            0u)
      << location->second;
  return query_params(location->second.substr(p.redirect_uri.size()));
}

HttpAnswer exchange_code(const MockTesla& mock, const std::string& code,
                         const std::string& verifier, const std::string& redirect_uri,
                         const std::string& audience, const std::string& client_secret) {
  std::string body = "grant_type=authorization_code&client_id=mock-client-id&client_secret=" +
                     url_encode(client_secret) + "&code=" + url_encode(code) +
                     "&audience=" + url_encode(audience) +
                     "&redirect_uri=" + url_encode(redirect_uri);
  if (!verifier.empty()) body += "&code_verifier=" + url_encode(verifier);
  return http("POST", mock.base() + "/oauth2/v3/token", body,
              {"Content-Type: application/x-www-form-urlencoded"});
}

}  // namespace oemlink::mock_oem::testing
