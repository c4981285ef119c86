// Base64 in the two alphabets the Tesla APIs use: standard with padding (the JWS `iss`) and
// URL-safe without padding (JWS parts, JWT payloads).
#ifndef OEMLINK_TESLA_BASE64_HPP
#define OEMLINK_TESLA_BASE64_HPP

#include <optional>
#include <string>
#include <string_view>

namespace oemlink::tesla {

std::string base64_encode(std::string_view bytes);     // standard alphabet, '=' padding
std::string base64url_encode(std::string_view bytes);  // URL alphabet, no padding
// Accepts either alphabet, with or without padding; nullopt on any other character.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace oemlink::tesla

#endif
