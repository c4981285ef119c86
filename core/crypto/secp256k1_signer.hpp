// secp256k1 keys and recoverable ECDSA signatures, Ethereum style, on libsecp256k1.
//
// Signatures are 65 bytes r(32) || s(32) || v(1), v = recovery id + 27 (27 or 28), with
// RFC 6979 deterministic nonces and low-s normalisation (libsecp256k1's defaults).
// Addresses are the last 20 bytes of Keccak-256(uncompressed X || Y).
//
// Thread rule: every function may be called from any thread; the shared context is created once
// (randomised for side-channel protection) and only read afterwards.
// Misuse (a broken Contract below) prints a message without key material and aborts; it is not
// an error callers branch on.
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

// Returns: the address of `key`.
// In: key: 32-byte big-endian secret.
// Contract: `key` is a valid secp256k1 secret (0 < key < n); violating it aborts (a vault never
// holds an invalid key).
[[nodiscard]] Address20 address_of(const PrivateKey& key);

// Returns: the 65-byte signature of `hash32` by `key` (RFC 6979, low-s, v = 27/28). The same
// key and hash always give the same bytes.
// In: key: 32-byte secret; hash32: the 32-byte message hash, signed as is (no prefix added).
// Contract: `key` is valid (as for address_of); violating it aborts.
// Throws: std::runtime_error only on the first call in the process, when OpenSSL cannot supply
// entropy to randomise the context.
[[nodiscard]] Signature65 sign_hash(const PrivateKey& key, const Hash32& hash32);

// Returns: the signer's address, or nullopt when `sig` is malformed: v not 27/28 (0/1 also
// accepted), r or s zero or out of range, or s in the upper half of the order (high-s is
// rejected as Ethereum does since Homestead), or no point has that r.
// In: hash32: the 32-byte hash that was signed; sig: r(32) || s(32) || v(1).
[[nodiscard]] std::optional<Address20> recover_address(const Hash32& hash32,
                                                       const Signature65& sig);

// Returns: "0x" + EIP-55 mixed-case checksum hex (42 characters).
[[nodiscard]] std::string to_checksum_address(const Address20& a);
// Returns: the address in `text`, or nullopt when it is not "0x" + exactly 40 hex digits.
// In: text: any case. (Checksum not enforced: callers that need it compare
// to_checksum_address of the result with the input.)
[[nodiscard]] std::optional<Address20> parse_address(std::string_view text);

// Returns: "0x" + 130 lowercase hex.
[[nodiscard]] std::string signature_hex(const Signature65& sig);
// Returns: the signature in `text`, or nullopt when it is not "0x" + exactly 130 hex digits
// (any case). Only the encoding is checked; recover_address judges the values.
[[nodiscard]] std::optional<Signature65> parse_signature_hex(std::string_view text);

// Returns: true when `key` is a valid secp256k1 secret key (0 < key < n).
[[nodiscard]] bool is_valid_private_key(const PrivateKey& key);

}  // namespace oemlink::crypto
