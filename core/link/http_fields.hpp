// Reading what the browser sent: query parameters, one cookie, a bearer token.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace oemlink::link {

// The decoded parameters of `target` ("/path?a=1&b=x%20y"); the first of a repeated name wins.
// nullopt when the query is not valid percent-encoding.
std::optional<std::map<std::string, std::string, std::less<>>> query_params(
    std::string_view target);
// The raw query string (after '?'), "" when there is none.
std::string_view raw_query(std::string_view target);
// The value of cookie `name` in a Cookie header ("a=1; b=2"), "" when absent.
std::string_view cookie_value(std::string_view cookie_header, std::string_view name);
// The token of "Authorization: Bearer <token>" (scheme case-insensitive), "" otherwise.
std::string_view bearer_token(std::string_view authorization);

}  // namespace oemlink::link
