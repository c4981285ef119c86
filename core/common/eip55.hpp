// EIP-55 mixed-case checksum addresses, as text. Here rather than in core/crypto because the
// configuration (which sits below crypto) refuses a mistyped checksummed address.
#pragma once

#include <string>
#include <string_view>

namespace oemlink {

// Returns: "0x" + the 40 digits of `hex40` in EIP-55 case.
// In: hex40: exactly 40 hex digits, any case, without "0x" (not checked beyond that: callers
// validate first).
[[nodiscard]] std::string eip55_address(std::string_view hex40);

// Returns: true when `text` is "0x" + 40 hex digits that are all lowercase, all uppercase, or in
// correct EIP-55 case (mixed case is a checksum, so a mistyped digit is caught).
[[nodiscard]] bool is_checksum_valid_address(std::string_view text);

}  // namespace oemlink
