// Keccak-256 as Ethereum uses it: the original Keccak padding (0x01), not NIST SHA3-256 (0x06).
// OpenSSL 3.0 has no Keccak-256, so it is implemented here (Keccak-f[1600], rate 136 bytes).
//
// Thread rule: every function is pure; a Keccak256 object belongs to one thread at a time.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace oemlink {

using Hash32 = std::array<uint8_t, 32>;

// Returns: Keccak-256 of `data`. Pure function, thread-safe.
// In: data: any length, may be empty.
Hash32 keccak256(std::span<const uint8_t> data);
inline Hash32 keccak256(std::string_view s) {
  return keccak256(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
}

// Incremental Keccak-256, for input that is not contiguous (e.g. an EIP-191 prefix + data).
// Feeding the same bytes in any split gives keccak256() of their concatenation.
class Keccak256 {
 public:
  Keccak256() noexcept { reset(); }
  // In: data: the next bytes of the message, may be empty.
  void update(std::span<const uint8_t> data) noexcept;
  // Returns: the digest. The object is reset afterwards and may hash a new message.
  [[nodiscard]] Hash32 finalize() noexcept;
  void reset() noexcept;

  static constexpr size_t kRate = 136;

 private:
  std::array<uint64_t, 25> state_;
  std::array<uint8_t, kRate> buf_;
  size_t buffered_;
};

}  // namespace oemlink
