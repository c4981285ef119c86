// The parts of a request target the admin routes read: percent-decoded path segments and query
// parameters (RFC 3986 §2.1; '+' is a plus, not a space, outside HTML forms).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace oemlink::admin {

// nullopt when a '%' is not followed by two hex digits.
std::optional<std::string> percent_decode(std::string_view text);

// The decoded parameters of `target` ("/path?a=1&b=x%20y"); nullopt when one is not valid
// percent-encoding. A name given twice keeps its first value.
std::optional<std::map<std::string, std::string>> query_parameters(std::string_view target);

// `text` with every byte outside RFC 3986's unreserved set percent-encoded: an id as one path
// segment.
std::string percent_encode(std::string_view text);

}  // namespace oemlink::admin
