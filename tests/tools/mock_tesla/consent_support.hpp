// Driving the mock Tesla's consent like a browser: the authorize URL, the page's request id, the
// decision, the redirect's query; and the code exchange as a client sends it.
#pragma once

#include "tests/tools/mock_tesla/mock_tesla_process.hpp"

#include <map>
#include <string>

namespace oemlink::mock_oem::testing {

// RFC 7636 appendix B.
inline constexpr const char* kVerifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
inline constexpr const char* kChallenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
inline constexpr const char* kRedirect = "https://app.example/link/tesla/callback";
inline constexpr const char* kScopes = "openid offline_access user_data vehicle_device_data";

std::string url_encode(const std::string& s);
std::string url_decode(const std::string& s);
// name -> decoded value of a query string (or the part of a URL after '?').
std::map<std::string, std::string> query_params(const std::string& url_or_query);

struct AuthorizeParams {
  std::string response_type = "code";
  std::string client_id = "mock-client-id";
  std::string redirect_uri = kRedirect;
  std::string scope = kScopes;
  std::string state = "st-1";
  std::string code_challenge = kChallenge;
  std::string code_challenge_method = "S256";
};
std::string authorize_url(const MockTesla& mock, const AuthorizeParams& p);
// The hidden `request` of a consent page; empty when absent.
std::string request_id(const std::string& page);
// POSTs the decision; `account` empty: not sent.
HttpAnswer decide(const MockTesla& mock, const std::string& request, const std::string& decision,
                  const std::string& account = "");
// GET page → approve as `account` → the redirect's query (code, state, issuer).
std::map<std::string, std::string> approve(const MockTesla& mock, const AuthorizeParams& p,
                                           const std::string& account = "");
HttpAnswer exchange_code(
    const MockTesla& mock, const std::string& code, const std::string& verifier = kVerifier,
    const std::string& redirect_uri = kRedirect,
    const std::string& audience = "https://fleet-api.prd.na.vn.cloud.tesla.com",
    const std::string& client_secret = "mock-client-secret");

}  // namespace oemlink::mock_oem::testing
