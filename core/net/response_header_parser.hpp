// Turns the raw lines libcurl hands to CURLOPT_HEADERFUNCTION into the final response's header
// list. Kept apart from the client so the line handling can be tested without a server.
#pragma once

#include "core/net/http_client.hpp"

#include <string_view>

namespace oemlink::net {

class ResponseHeaderParser {
 public:
  // One line as delivered by libcurl, CRLF included. A status line starts a new header block,
  // which drops headers of interim (1xx) or proxy CONNECT responses.
  void feed(std::string_view line);

  Headers take() { return std::move(headers_); }
  const Headers& headers() const { return headers_; }

 private:
  Headers headers_;
};

}  // namespace oemlink::net
