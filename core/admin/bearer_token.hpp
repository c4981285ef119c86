// The admin API's bearer token, kept only as its SHA-256 digest. A presented token is hashed and
// the two digests compared with CRYPTO_memcmp: the time taken says nothing about how much of the
// token matched, nor (digests being of one length) how long it is.
#pragma once

#include <array>
#include <string_view>

namespace oemlink::admin {

class BearerToken {
 public:
  BearerToken() = default;  // accepts nothing
  explicit BearerToken(std::string_view token);

  bool configured() const { return configured_; }
  // `authorization` is the request's Authorization header: "Bearer <token>" (the scheme in any
  // case, RFC 9110 §11.1). False for another scheme, an empty token or no token configured.
  bool accepts(std::string_view authorization) const;

 private:
  std::array<unsigned char, 32> digest_{};
  bool configured_ = false;
};

}  // namespace oemlink::admin
