// Checks a fleet_telemetry_config JWS the way Tesla does before it accepts a config: compact
// form, header {"alg":"Tesla.SS256","typ":"JWT"}, `iss` the standard base64 of the signer's
// uncompressed P-256 key, `aud` com.tesla.fleet.TelemetryClient, and a valid Schnorr signature
// over base64url(header) "." base64url(claims).
#pragma once

#include <boost/json/object.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace oemlink::mock_oem::tesla {

inline constexpr std::string_view kTelemetryAudience = "com.tesla.fleet.TelemetryClient";

struct CheckedTelemetryJws {
  bool ok = false;
  std::string error;           // why it was refused (never contains key material)
  boost::json::object claims;  // the config with iss/aud, when ok
  std::string public_key;      // 65 raw bytes of A, when ok
};

// expected_public_key: when set (65 raw bytes), `iss` must name exactly this key, as Tesla
// requires the key published at the partner's .well-known address.
CheckedTelemetryJws check_telemetry_jws(std::string_view jws,
                                        const std::optional<std::string>& expected_public_key);

}  // namespace oemlink::mock_oem::tesla
