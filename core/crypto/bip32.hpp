// BIP-32 derivation of the one-level hardened children DIMO uses for synthetic devices:
// master = HMAC-SHA512(key "Bitcoin seed", seed); child m/<n>' for n < 2^31.
//
// Thread rule: pure functions, callable from any thread.
#pragma once

#include "core/common/secure_wipe.hpp"
#include "core/crypto/secp256k1_signer.hpp"

#include <cstddef>
#include <cstdint>
#include <span>

namespace oemlink::crypto {

// Returns: the private key of m/<child>' derived from `seed`.
// In: seed: 16..64 bytes (DIMO uses 32); child: the unhardened index, < 2^31 (it is hardened by
// adding 2^31).
// Contract: seed size and child range as above; violating either aborts.
// Throws: std::runtime_error naming the child number in the astronomically unlikely case BIP-32
// declares the child (or the seed's master key) invalid; the next index is NOT silently used.
// The caller owns and must wipe the returned key (secure_wipe, core/common/secure_wipe.hpp).
// Intermediates are wiped here.
[[nodiscard]] PrivateKey derive_hardened_child(std::span<const uint8_t> seed, uint32_t child);

}  // namespace oemlink::crypto
