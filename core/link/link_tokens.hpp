// The unguessable values of the linking flow (state, browser nonce, PKCE verifier, mint grant)
// and the digests they are kept as. Each is 32 bytes from OpenSSL's RAND_bytes, written as
// base64url without padding (RFC 7636's alphabet, 43 characters).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace oemlink::link {

using Digest = std::array<uint8_t, 32>;

// base64url (RFC 4648 §5) without '=' padding.
std::string base64url(const uint8_t* data, size_t size);
// 32 random bytes as base64url. Throws std::runtime_error when the RNG fails (never a weak value).
std::string random_token();
Digest sha256(std::string_view text);
// RFC 7636 S256: base64url(SHA-256(ASCII(verifier))).
std::string pkce_challenge(std::string_view verifier);
// Constant-time equality of two digests (CRYPTO_memcmp).
bool same_digest(const Digest& a, const Digest& b);

}  // namespace oemlink::link
