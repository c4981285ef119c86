#include "client_auth.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

namespace oemlink::smartcar {

std::string basic_auth(std::string_view id, std::string_view secret) {
  std::string plain = std::string(id) + ":" + std::string(secret);
  std::string out(4 * ((plain.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(plain.data()),
                                static_cast<int>(plain.size()));
  OPENSSL_cleanse(plain.data(), plain.size());
  out.resize(n > 0 ? static_cast<size_t>(n) : 0);
  return "Basic " + out;
}

}  // namespace oemlink::smartcar
