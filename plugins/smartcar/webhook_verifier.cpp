#include "webhook_verifier.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>

namespace oemlink::smartcar {
namespace {

using Mac = std::array<unsigned char, 32>;

bool compute(std::string_view key, std::string_view message, Mac& out) {
  unsigned int len = 0;
  // An empty message still needs a valid pointer for OpenSSL.
  static const unsigned char kEmpty = 0;
  const unsigned char* data =
      message.empty() ? &kEmpty : reinterpret_cast<const unsigned char*>(message.data());
  return HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), data, message.size(),
              out.data(), &len) != nullptr &&
         len == out.size();
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string hmac_sha256_hex(std::string_view key, std::string_view message) {
  Mac mac{};
  if (!compute(key, message, mac)) return {};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(64);
  for (unsigned char b : mac) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  OPENSSL_cleanse(mac.data(), mac.size());
  return out;
}

bool signature_valid(std::string_view key, std::string_view body, std::string_view signature_hex) {
  while (!signature_hex.empty() && signature_hex.back() == ' ') signature_hex.remove_suffix(1);
  while (!signature_hex.empty() && signature_hex.front() == ' ') signature_hex.remove_prefix(1);
  if (key.empty() || signature_hex.size() != 64) return false;
  Mac given{};
  // Decoding branches on the header's characters, which the sender chose; only the comparison
  // against the secret MAC must not leak, and CRYPTO_memcmp does not.
  for (size_t i = 0; i < given.size(); ++i) {
    const int hi = hex_value(signature_hex[2 * i]), lo = hex_value(signature_hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    given[i] = static_cast<unsigned char>(hi << 4 | lo);
  }
  Mac expected{};
  if (!compute(key, body, expected)) return false;
  const bool ok = CRYPTO_memcmp(given.data(), expected.data(), expected.size()) == 0;
  OPENSSL_cleanse(expected.data(), expected.size());
  return ok;
}

}  // namespace oemlink::smartcar
