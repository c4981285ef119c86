#include "core/common/eip55.hpp"

#include "core/common/hex.hpp"
#include "core/common/keccak.hpp"

namespace oemlink {

std::string eip55_address(std::string_view hex40) {
  std::string out = "0x";
  out.reserve(42);
  for (char c : hex40) out.push_back(c >= 'A' && c <= 'F' ? static_cast<char>(c - 'A' + 'a') : c);
  // The hash is over the 40 lowercase ASCII digits, without "0x".
  const Hash32 h = keccak256(std::string_view(out).substr(2));
  for (size_t i = 0; i < 40 && i + 2 < out.size(); ++i) {
    const uint8_t nibble = (i % 2 == 0) ? (h[i / 2] >> 4) : (h[i / 2] & 0xf);
    char& c = out[2 + i];
    if (nibble >= 8 && c >= 'a' && c <= 'f') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

bool is_checksum_valid_address(std::string_view text) {
  if (text.size() != 42 || !text.starts_with("0x")) return false;
  bool lower = false, upper = false;
  for (char c : text.substr(2)) {
    if (hex_digit_value(c) < 0) return false;
    lower = lower || (c >= 'a' && c <= 'f');
    upper = upper || (c >= 'A' && c <= 'F');
  }
  if (!lower || !upper) return true;
  return eip55_address(text.substr(2)) == text;
}

}  // namespace oemlink
