// Tesla's Schnorr signature over P-256 ("Tesla.SS256"), the scheme behind signed Fleet Telemetry
// configurations, ported from the description in shared/spec/oem-apis.md (vehicle-command's
// internal/schnorr): RFC 6979 nonce (HMAC-SHA256), challenge c = SHA-256(LV(G)||LV(V)||LV(A)||
// LV(msg)), r = v - x*c mod n, signature Vx||Vy||r. Not ECDSA: an ES256 verifier rejects it.
#ifndef OEMLINK_TESLA_SCHNORR_P256_HPP
#define OEMLINK_TESLA_SCHNORR_P256_HPP

#include <memory>
#include <string>
#include <string_view>

namespace oemlink::tesla {

class SchnorrP256Key {
 public:
  // A 32-byte big-endian private scalar in [1, n-1]; nullptr otherwise.
  static std::unique_ptr<SchnorrP256Key> from_scalar(std::string_view scalar32);
  // A PEM private key (PKCS#8 or SEC1 "EC PRIVATE KEY") on P-256; nullptr with `error` set
  // (the message never contains key material).
  static std::unique_ptr<SchnorrP256Key> from_pem(std::string_view pem, std::string* error);
  ~SchnorrP256Key();  // wipes the scalar
  SchnorrP256Key(const SchnorrP256Key&) = delete;
  SchnorrP256Key& operator=(const SchnorrP256Key&) = delete;

  // Uncompressed public point A = x*G: 0x04 || X || Y (65 bytes).
  const std::string& public_point() const { return public_point_; }
  // Vx || Vy || r (96 bytes). Deterministic: the same message gives the same signature.
  std::string sign(std::string_view message) const;

 private:
  SchnorrP256Key() = default;
  unsigned char scalar_[32] = {};
  std::string public_point_;
};

// V == c*A + r*G, with A the 65-byte uncompressed public point; false for anything malformed.
bool schnorr_p256_verify(std::string_view public_point, std::string_view message,
                         std::string_view signature);

}  // namespace oemlink::tesla

#endif
