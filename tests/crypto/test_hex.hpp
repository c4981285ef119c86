// Hex helpers for the crypto tests only (independent of the library's own parsers).
#pragma once

#include <array>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace oemlink::crypto::test {

inline std::vector<uint8_t> from_hex(std::string_view h) {
  if (h.starts_with("0x")) h.remove_prefix(2);
  if (h.size() % 2 != 0) throw std::invalid_argument("odd hex");
  std::vector<uint8_t> out(h.size() / 2);
  for (size_t i = 0; i < out.size(); ++i)
    out[i] = std::stoi(std::string(h.substr(2 * i, 2)), nullptr, 16);
  return out;
}

template <size_t N>
std::array<uint8_t, N> arr(std::string_view h) {
  const auto v = from_hex(h);
  if (v.size() != N) throw std::invalid_argument("hex length");
  std::array<uint8_t, N> out;
  std::copy(v.begin(), v.end(), out.begin());
  return out;
}

template <typename C>
std::string to_hex(const C& c) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s;
  for (uint8_t b : c) {
    s += kDigits[b >> 4];
    s += kDigits[b & 0xf];
  }
  return s;
}

}  // namespace oemlink::crypto::test
