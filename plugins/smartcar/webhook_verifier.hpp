// Smartcar's webhook signatures: SC-Signature = hex(HMAC-SHA256(key = application management
// token, message = the raw request body)), and the VERIFY answer hex(HMAC-SHA256(amt, challenge)).
#ifndef OEMLINK_SMARTCAR_WEBHOOK_VERIFIER_HPP
#define OEMLINK_SMARTCAR_WEBHOOK_VERIFIER_HPP

#include <string>
#include <string_view>

namespace oemlink::smartcar {

// Lower-case hex of HMAC-SHA256(key, message).
std::string hmac_sha256_hex(std::string_view key, std::string_view message);

// True when `signature_hex` (64 hex digits, either case) is HMAC-SHA256(key, body). The MACs are
// compared in constant time (CRYPTO_memcmp); an empty key never verifies.
bool signature_valid(std::string_view key, std::string_view body, std::string_view signature_hex);

}  // namespace oemlink::smartcar

#endif  // OEMLINK_SMARTCAR_WEBHOOK_VERIFIER_HPP
