// Keccak-256 for the signing code: the hash itself lives in core/common (configuration checks
// EIP-55 address case with it, and config sits below crypto), re-exported here under the names
// crypto's users always had; EIP-191 is crypto's own.
#pragma once

#include "core/common/keccak.hpp"

#include <cstdint>
#include <span>

namespace oemlink::crypto {

using oemlink::Hash32;
using oemlink::Keccak256;
using oemlink::keccak256;

// Returns: Keccak-256("\x19Ethereum Signed Message:\n" + decimal length + message), the EIP-191
// (version 0x45, personal_sign) hash that attestation events sign. Device data does NOT use it.
// In: message: any length, may be empty.
[[nodiscard]] Hash32 eip191_hash(std::span<const uint8_t> message);

}  // namespace oemlink::crypto
