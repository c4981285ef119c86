#include "core/vault/hex32.hpp"

#include <openssl/crypto.h>

namespace oemlink::vault {
namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

bool parse_hex32(std::string_view text, std::span<uint8_t, 32> out, std::string& why) {
  if (text.ends_with("\r\n")) {
    text.remove_suffix(2);
  } else if (text.ends_with('\n')) {
    text.remove_suffix(1);
  }
  if (text.size() != 2 * out.size()) {
    why = "must be exactly 64 hex characters (32 bytes); it has " + std::to_string(text.size()) +
          " characters";
    return false;
  }
  for (size_t i = 0; i < out.size(); ++i) {
    const int hi = hex_digit(text[2 * i]);
    const int lo = hex_digit(text[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      OPENSSL_cleanse(out.data(), out.size());
      const size_t pos = hi < 0 ? 2 * i : 2 * i + 1;
      why =
          "must be 64 hex characters; character " + std::to_string(pos + 1) + " is not a hex digit";
      return false;
    }
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return true;
}

}  // namespace oemlink::vault
