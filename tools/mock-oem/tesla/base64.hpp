// Base64 (RFC 4648) in both alphabets, for JWS pieces and the JWT-shaped tokens the mock issues.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace oemlink::mock_oem::tesla {

std::string base64_encode(std::string_view bytes);     // standard alphabet, padded
std::string base64url_encode(std::string_view bytes);  // URL alphabet, no padding
// Strict: only the alphabet named, padding optional; nullopt on any other character.
std::optional<std::string> base64_decode(std::string_view text);
std::optional<std::string> base64url_decode(std::string_view text);

}  // namespace oemlink::mock_oem::tesla
