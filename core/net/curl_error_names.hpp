// Symbolic names for CURLcode values: logs then say CURLE_COULDNT_CONNECT rather than only
// curl's prose, which is what people grep for and what curl's documentation is indexed by.
#pragma once

#include <curl/curl.h>

#include <string>
#include <string_view>

namespace oemlink::net {

// "CURLE_OPERATION_TIMEDOUT"; "CURLE_<number>" for codes this build does not know.
std::string curl_code_name(CURLcode code);

// "CURLE_COULDNT_CONNECT (7): Couldn't connect to server: <error buffer>".
std::string describe_curl_error(CURLcode code, std::string_view error_buffer);

}  // namespace oemlink::net
