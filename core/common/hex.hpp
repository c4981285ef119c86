// Hexadecimal text for bytes: ids, addresses, signatures, JSON escapes, KEKs and seeds.
// Encoding is lowercase; decoding accepts either case.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace oemlink {

// Appends two lowercase hex digits per byte to `out`.
void append_hex(std::string& out, std::span<const uint8_t> bytes);
// Writes two lowercase hex digits per byte to `out`, which has room for 2 * bytes.size(): for
// secrets, whose text must stay in memory the caller chose (locked) instead of a std::string.
void write_hex(std::span<const uint8_t> bytes, std::span<uint8_t> out) noexcept;
// The bytes as lowercase hex, without a prefix.
[[nodiscard]] std::string to_hex(std::span<const uint8_t> bytes);

// The value of one hex digit (0..15), or -1 when `c` is not one.
[[nodiscard]] int hex_digit_value(char c) noexcept;

// Decodes exactly 2 * out.size() hex digits (no prefix, no whitespace) into `out`. On failure
// returns false; `out` may then hold a partial result, so callers decoding secrets use
// decode_hex_secret instead.
[[nodiscard]] bool decode_hex(std::string_view text, std::span<uint8_t> out) noexcept;

// Decodes a secret written as hex (a KEK, an imported seed): exactly 2 * out.size() digits, with
// one trailing "\n" or "\r\n" accepted (as `echo` or an editor leaves it). On failure `out` is
// wiped and `why` describes the length or the position of the bad character ("must be exactly
// 64 hex characters (32 bytes); it has 63 characters", "character 5 is not a hex digit"),
// never the characters themselves, so a secret pasted into the wrong place stays out of logs.
[[nodiscard]] bool decode_hex_secret(std::string_view text, std::span<uint8_t> out,
                                     std::string& why);

}  // namespace oemlink
