// Keccak-256 as Ethereum uses it: the original Keccak padding (0x01), not NIST SHA3-256 (0x06).
// OpenSSL 3.0 has no Keccak-256, so it is implemented here (Keccak-f[1600], rate 136 bytes).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

namespace oemlink::crypto {

using Hash32 = std::array<uint8_t, 32>;

// Returns Keccak-256 of `data`. Pure function, thread-safe.
Hash32 keccak256(std::span<const uint8_t> data);
inline Hash32 keccak256(std::string_view s) {
  return keccak256(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
}

}  // namespace oemlink::crypto
