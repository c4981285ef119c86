// Private to core/crypto: the shared libsecp256k1 context and small helpers. Not installed, not
// included from outside this folder.
#pragma once

#include <secp256k1.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace oemlink::crypto::detail {

// Returns: the process-wide context, created and randomised on first use (thread-safe static
// init), read-only afterwards. Throws std::runtime_error only if OpenSSL cannot supply the 32
// random bytes for randomisation (the next call retries).
const secp256k1_context* context();

// Reports a broken caller contract and aborts. `what` must never contain key material.
[[noreturn]] void contract_failure(const char* what) noexcept;

// Out: out64: BIP-32 master secret key (32) || master chain code (32); the caller wipes it.
// In: seed: 16..64 bytes (not checked here).
// Throws: std::runtime_error when the seed's master key is invalid (IL = 0 or IL >= n).
// Exposed for the BIP-32 test vectors; production code derives children only.
void bip32_master(std::array<uint8_t, 64>& out64, std::span<const uint8_t> seed);

// Wipes a secret temporary on every exit path, including exceptions.
class WipeOnExit {
 public:
  WipeOnExit(void* p, size_t n) noexcept : p_(p), n_(n) {}
  template <typename T, size_t N>
  explicit WipeOnExit(std::array<T, N>& a) noexcept : p_(a.data()), n_(sizeof(T) * N) {}
  ~WipeOnExit();
  WipeOnExit(const WipeOnExit&) = delete;
  WipeOnExit& operator=(const WipeOnExit&) = delete;

 private:
  void* p_;
  size_t n_;
};

// secp256k1 group order n, and n/2 (the largest low-s value), big-endian.
inline constexpr std::array<uint8_t, 32> kHalfOrder = {
    0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0x5d, 0x57, 0x6e, 0x73, 0x57, 0xa4, 0x50, 0x1d, 0xdf, 0xe9, 0x2f, 0x46, 0x68, 0x1b, 0x20, 0xa0};

}  // namespace oemlink::crypto::detail
