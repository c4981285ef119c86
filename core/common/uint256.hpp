// Unsigned 256-bit integers as EIP-712 and the DIMO registry see them: 32 big-endian bytes, and
// their decimal text (token ids are uint256, too big for JSON numbers, so typed data carries them
// as decimal strings). Here because the configuration checks token ids and crypto encodes them.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace oemlink {

using Uint256 = std::array<uint8_t, 32>;  // big-endian

// Returns: the value of `text`, or nullopt unless it is 1 to 78 decimal digits (no sign, no
// spaces, no "0x") whose value is at most 2^256 - 1. Leading zeros are accepted ("007" is 7).
[[nodiscard]] std::optional<Uint256> parse_uint256_decimal(std::string_view text);

// Returns: `v` as decimal digits without leading zeros ("0" for zero).
[[nodiscard]] std::string to_decimal(const Uint256& v);

// Returns: `v` as a Uint256.
[[nodiscard]] Uint256 uint256_of(uint64_t v);

}  // namespace oemlink
