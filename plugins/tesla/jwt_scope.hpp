// Reads the scopes and subject of a Tesla access token (a JWT) without verifying it: the driver
// only asks "may I request location?" (Tesla itself enforces the answer) and "which user is this?"
// (a grouping key for the cars of one consent, never an authority). The token never leaves.
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
// The `sub` claim (Tesla's user id); nullopt when the token is not a JWT with a non-empty string
// `sub`.
std::optional<std::string> jwt_subject(std::string_view token);

}  // namespace oemlink::tesla

#endif
