// BIP-32 derivation of the one-level hardened children DIMO uses for synthetic devices:
// master = HMAC-SHA512(key "Bitcoin seed", seed); child m/<n>' for n < 2^31.
#pragma once

#include "core/crypto/secp256k1_signer.hpp"

#include <cstdint>
#include <span>

namespace oemlink::crypto {

// Returns: the private key of m/<child>' derived from `seed` (16..64 bytes; DIMO uses 32).
// Contract: child < 2^31 (it is hardened by adding 2^31). In the astronomically unlikely case
// BIP-32 declares the child invalid, the next index is NOT silently used: throws
// std::runtime_error naming the child number.
// The caller owns and must wipe the returned key.
[[nodiscard]] PrivateKey derive_hardened_child(std::span<const uint8_t> seed, uint32_t child);

// Overwrites memory in a way the compiler may not elide (OPENSSL_cleanse).
void secure_wipe(void* p, size_t n) noexcept;

}  // namespace oemlink::crypto
