// A Tesla.SS256 signer for tests only (random nonce; the mock itself never signs), used to make
// JWS tokens the mock must accept and, altered, refuse.
#pragma once

#include <string>
#include <string_view>

namespace oemlink::mock_oem::testing {

struct TestKey {
  std::string private_scalar;  // 32 bytes
  std::string public_point;    // 65 bytes, 0x04 || X || Y
};

TestKey make_test_key();                                                 // a fresh random P-256 key
TestKey test_key_from_scalar(std::string x);                             // A = x·G
std::string schnorr_sign(const TestKey& key, std::string_view message);  // Vx||Vy||r
// base64url(header).base64url(claims).base64url(sig); claims get iss and aud added.
std::string make_telemetry_jws(const TestKey& key, const std::string& config_json,
                               std::string_view alg = "Tesla.SS256",
                               std::string_view aud = "com.tesla.fleet.TelemetryClient");

}  // namespace oemlink::mock_oem::testing
