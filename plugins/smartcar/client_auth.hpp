// The client authentication Smartcar's token endpoint takes: HTTP Basic client_id:client_secret.
// Used by the token chain (refresh) and the linker (code exchange).
#ifndef OEMLINK_SMARTCAR_CLIENT_AUTH_HPP
#define OEMLINK_SMARTCAR_CLIENT_AUTH_HPP

#include <string>
#include <string_view>

namespace oemlink::smartcar {

// "Basic base64(id:secret)". The caller wipes it (OPENSSL_cleanse) once the request is sent.
std::string basic_auth(std::string_view id, std::string_view secret);

}  // namespace oemlink::smartcar

#endif  // OEMLINK_SMARTCAR_CLIENT_AUTH_HPP
