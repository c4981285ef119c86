// AES-256-GCM sealing of single values (secrets, outbox records, data keys, the vault seed).
// Wire format (version 1):
//   version(1 byte) || nonce(12) || ciphertext(len(plaintext)) || tag(16)
// The version byte is authenticated too (fed to GCM ahead of the caller's associated data), so it
// cannot be flipped to steer a future reader onto another format.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/common/data_key.hpp"

namespace oemlink::aead {

inline constexpr uint8_t kVersion = 1;
inline constexpr size_t kNonceSize = 12;
inline constexpr size_t kTagSize = 16;
inline constexpr size_t kOverhead = 1 + kNonceSize + kTagSize;

// A fresh random nonce per call: keys live for years and values are few, so random 96-bit nonces
// stay far below the birthday bound. Throws std::runtime_error only when OpenSSL itself fails.
std::vector<uint8_t> seal(const DataKey& key, std::string_view plaintext, std::string_view aad);

// Writes the plaintext into `plaintext` and returns true, or returns false (with `plaintext`
// empty and its buffer wiped) on a wrong key, wrong associated data, truncation, unknown version
// or any tampering. Never hands out unauthenticated bytes.
[[nodiscard]] bool open(const DataKey& key, std::span<const uint8_t> sealed, std::string_view aad,
                        std::string& plaintext);

// For keys: decrypts a plaintext of exactly out.size() bytes straight into `out` (locked memory,
// say), so no other copy of it ever exists. False, with `out` wiped, on anything open() refuses
// and on a plaintext of another size.
[[nodiscard]] bool open_exact(const DataKey& key, std::span<const uint8_t> sealed,
                              std::string_view aad, std::span<uint8_t> out);

}  // namespace oemlink::aead
