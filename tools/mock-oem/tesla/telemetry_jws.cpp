#include "tools/mock-oem/tesla/telemetry_jws.hpp"

#include "tools/mock-oem/tesla/base64.hpp"
#include "tools/mock-oem/tesla/schnorr_verifier.hpp"

#include <boost/json/parse.hpp>

namespace oemlink::mock_oem::tesla {
namespace {

namespace json = boost::json;

std::optional<json::object> parse_object(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return std::nullopt;
  return std::move(v.as_object());
}

CheckedTelemetryJws refuse(std::string why) {
  CheckedTelemetryJws r;
  r.error = std::move(why);
  return r;
}

std::string_view string_member(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_string() ? std::string_view(v->as_string()) : std::string_view();
}

}  // namespace

CheckedTelemetryJws check_telemetry_jws(std::string_view jws,
                                        const std::optional<std::string>& expected_public_key) {
  const size_t first = jws.find('.');
  const size_t second = first == std::string_view::npos ? first : jws.find('.', first + 1);
  if (second == std::string_view::npos || jws.find('.', second + 1) != std::string_view::npos)
    return refuse("token is not a compact JWS (three dot-separated parts)");
  const std::string_view header_b64 = jws.substr(0, first);
  const std::string_view claims_b64 = jws.substr(first + 1, second - first - 1);
  const std::string_view signature_b64 = jws.substr(second + 1);

  const auto header_text = base64url_decode(header_b64);
  const auto header = header_text ? parse_object(*header_text) : std::nullopt;
  if (!header) return refuse("JWS header is not base64url JSON");
  if (string_member(*header, "alg") != "Tesla.SS256")
    return refuse("JWS is not signed with Tesla.SS256 (alg must be \"Tesla.SS256\")");
  if (string_member(*header, "typ") != "JWT") return refuse("JWS header typ must be \"JWT\"");

  const auto claims_text = base64url_decode(claims_b64);
  auto claims = claims_text ? parse_object(*claims_text) : std::nullopt;
  if (!claims) return refuse("JWS claims are not base64url JSON object");
  if (string_member(*claims, "aud") != kTelemetryAudience)
    return refuse("JWS aud must be \"com.tesla.fleet.TelemetryClient\"");
  const auto key = base64_decode(string_member(*claims, "iss"));
  if (!key || key->size() != 65 || (*key)[0] != 0x04)
    return refuse("JWS iss must be the standard base64 of an uncompressed P-256 public key");
  if (expected_public_key && *key != *expected_public_key)
    return refuse("JWS iss is not the partner's registered public key");

  if (signature_b64.empty()) return refuse("JWS is unsigned");
  const auto signature = base64url_decode(signature_b64);
  if (!signature || signature->size() != 96)
    return refuse("JWS signature must be 96 bytes of base64url");
  const std::string_view signing_input = jws.substr(0, second);
  const auto* key_bytes = reinterpret_cast<const unsigned char*>(key->data());
  const auto* sig_bytes = reinterpret_cast<const unsigned char*>(signature->data());
  if (!schnorr_p256_verify({key_bytes, key->size()}, signing_input, {sig_bytes, signature->size()}))
    return refuse("JWS signature does not verify");

  CheckedTelemetryJws ok;
  ok.ok = true;
  ok.claims = std::move(*claims);
  ok.public_key = *key;
  return ok;
}

}  // namespace oemlink::mock_oem::tesla
