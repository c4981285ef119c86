// Smartcar's webhook signature: hex HMAC-SHA256 keyed with the Application Management Token.
#pragma once

#include <string>
#include <string_view>

namespace oemlink::mock_oem::smartcar {

// Lower-case hex of HMAC-SHA256(key, message); the SC-Signature header and the VERIFY answer.
std::string hmac_sha256_hex(std::string_view key, std::string_view message);

// A random version-4 UUID, the form Smartcar uses for ids and tokens.
std::string random_uuid();

}  // namespace oemlink::mock_oem::smartcar
