// Parsing of 32-byte secrets written as 64 hex characters (KEKs, imported seeds). Diagnostics
// describe the length or the position of a bad character, never the characters themselves, so a
// secret pasted into the wrong place does not end up in a log.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace oemlink::vault {

// Trailing "\n" or "\r\n" (one line ending, as `echo` or an editor leaves it) is accepted; any
// other byte outside the 64 hex digits is refused. On failure `out` is wiped and `why` says what
// is wrong ("has 63 characters", "character 5 is not a hex digit").
[[nodiscard]] bool parse_hex32(std::string_view text, std::span<uint8_t, 32> out, std::string& why);

}  // namespace oemlink::vault
