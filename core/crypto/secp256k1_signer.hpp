// secp256k1 keys and recoverable ECDSA signatures, Ethereum style, on libsecp256k1.
//
// Signatures are 65 bytes r(32) || s(32) || v(1), v = recovery id + 27 (27 or 28), with
// RFC 6979 deterministic nonces and low-s normalisation (libsecp256k1's defaults).
// Addresses are the last 20 bytes of Keccak-256(uncompressed X || Y).
//
// Thread rule: every function may be called from any thread; the shared context is created once
// (randomised for side-channel protection) and only read afterwards.
#pragma once

#include "core/crypto/keccak.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace oemlink::crypto {

using PrivateKey = std::array<uint8_t, 32>;
using Signature65 = std::array<uint8_t, 65>;
using Address20 = std::array<uint8_t, 20>;

// Returns: the address of `key`. Contract: `key` is a valid secp256k1 secret (0 < key < n);
// violating it aborts (a vault never holds an invalid key).
[[nodiscard]] Address20 address_of(const PrivateKey& key);

// Returns: the 65-byte signature of `hash32` by `key` (RFC 6979, low-s, v = 27/28).
[[nodiscard]] Signature65 sign_hash(const PrivateKey& key, const Hash32& hash32);

// Returns: the signer's address, or nullopt when `sig` is malformed: v not 27/28 (0/1 also
// accepted), r or s zero or out of range, or s in the upper half of the order (high-s is
// rejected as Ethereum does since Homestead).
[[nodiscard]] std::optional<Address20> recover_address(const Hash32& hash32,
                                                       const Signature65& sig);

// "0x" + EIP-55 mixed-case checksum hex.
[[nodiscard]] std::string to_checksum_address(const Address20& a);
// Parses "0x" + 40 hex of any case; nullopt when malformed. (Checksum not enforced: callers that
// need it compare to_checksum_address of the result with the input.)
[[nodiscard]] std::optional<Address20> parse_address(std::string_view text);

// "0x" + 130 lowercase hex.
[[nodiscard]] std::string signature_hex(const Signature65& sig);
[[nodiscard]] std::optional<Signature65> parse_signature_hex(std::string_view text);

// True when `key` is a valid secp256k1 secret key.
[[nodiscard]] bool is_valid_private_key(const PrivateKey& key);

}  // namespace oemlink::crypto
