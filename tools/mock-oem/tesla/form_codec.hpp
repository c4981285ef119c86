// application/x-www-form-urlencoded both ways (token requests, the consent page's forms, the
// redirect back to the client) and HTML escaping for the consent page.
#pragma once

#include <map>
#include <string>
#include <string_view>

namespace oemlink::mock_oem::tesla {

// '+' is a space, %XX a byte; a malformed escape is kept as is.
std::string form_decode(std::string_view s);
std::map<std::string, std::string> parse_form(std::string_view body);
// Every byte but A-Z a-z 0-9 - . _ ~ as %XX.
std::string percent_encode(std::string_view s);
std::string html_escape(std::string_view s);

}  // namespace oemlink::mock_oem::tesla
