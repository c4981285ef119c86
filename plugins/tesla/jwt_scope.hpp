// Reads the scopes of a Tesla access token (a JWT) without verifying it: the driver only asks
// "may I request location?", and Tesla itself enforces the answer. The token never leaves.
#ifndef OEMLINK_TESLA_JWT_SCOPE_HPP
#define OEMLINK_TESLA_JWT_SCOPE_HPP

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace oemlink::tesla {

// The `scp` (array) or `scope` (space-separated string) claim; nullopt when the token is not a
// JWT with either.
std::optional<std::vector<std::string>> jwt_scopes(std::string_view token);
bool jwt_has_scope(std::string_view token, std::string_view scope);

}  // namespace oemlink::tesla

#endif
