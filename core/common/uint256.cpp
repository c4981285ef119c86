#include "core/common/uint256.hpp"

#include <algorithm>

namespace oemlink {

std::optional<Uint256> parse_uint256_decimal(std::string_view text) {
  // 2^256 - 1 has 78 digits; more (even zeros) is not a plausible token id.
  if (text.empty() || text.size() > 78) return std::nullopt;
  Uint256 v{};
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    // v = v * 10 + digit, from the least significant byte up; a carry out of the top byte is
    // an overflow past 2^256 - 1.
    unsigned carry = static_cast<unsigned>(c - '0');
    for (size_t i = v.size(); i-- > 0;) {
      const unsigned x = v[i] * 10u + carry;
      v[i] = static_cast<uint8_t>(x & 0xff);
      carry = x >> 8;
    }
    if (carry != 0) return std::nullopt;
  }
  return v;
}

std::string to_decimal(const Uint256& value) {
  Uint256 v = value;
  std::string digits;
  // Long division by 10 until nothing is left; each remainder is the next digit from the right.
  while (std::any_of(v.begin(), v.end(), [](uint8_t b) { return b != 0; })) {
    unsigned rem = 0;
    for (uint8_t& b : v) {
      const unsigned cur = rem << 8 | b;
      b = static_cast<uint8_t>(cur / 10);
      rem = cur % 10;
    }
    digits.push_back(static_cast<char>('0' + rem));
  }
  if (digits.empty()) return "0";
  std::reverse(digits.begin(), digits.end());
  return digits;
}

Uint256 uint256_of(uint64_t v) {
  Uint256 out{};
  for (size_t i = 0; i < 8; ++i) out[31 - i] = static_cast<uint8_t>(v >> (8 * i));
  return out;
}

}  // namespace oemlink
