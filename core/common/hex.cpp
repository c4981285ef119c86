#include "core/common/hex.hpp"

#include "core/common/secure_wipe.hpp"

namespace oemlink {
namespace {

constexpr char kLowerHex[] = "0123456789abcdef";

}  // namespace

void append_hex(std::string& out, std::span<const uint8_t> bytes) {
  for (uint8_t b : bytes) {
    out.push_back(kLowerHex[b >> 4]);
    out.push_back(kLowerHex[b & 0xf]);
  }
}

void write_hex(std::span<const uint8_t> bytes, std::span<uint8_t> out) noexcept {
  for (size_t i = 0; i < bytes.size() && 2 * i + 1 < out.size(); ++i) {
    out[2 * i] = static_cast<uint8_t>(kLowerHex[bytes[i] >> 4]);
    out[2 * i + 1] = static_cast<uint8_t>(kLowerHex[bytes[i] & 0xf]);
  }
}

std::string to_hex(std::span<const uint8_t> bytes) {
  std::string out;
  out.reserve(2 * bytes.size());
  append_hex(out, bytes);
  return out;
}

int hex_digit_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool decode_hex(std::string_view text, std::span<uint8_t> out) noexcept {
  if (text.size() != 2 * out.size()) return false;
  for (size_t i = 0; i < out.size(); ++i) {
    const int hi = hex_digit_value(text[2 * i]);
    const int lo = hex_digit_value(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return true;
}

bool decode_hex_secret(std::string_view text, std::span<uint8_t> out, std::string& why) {
  if (text.ends_with("\r\n")) {
    text.remove_suffix(2);
  } else if (text.ends_with('\n')) {
    text.remove_suffix(1);
  }
  const std::string digits = std::to_string(2 * out.size());
  if (text.size() != 2 * out.size()) {
    why = "must be exactly " + digits + " hex characters (" + std::to_string(out.size()) +
          " bytes); it has " + std::to_string(text.size()) + " characters";
    return false;
  }
  for (size_t i = 0; i < out.size(); ++i) {
    const int hi = hex_digit_value(text[2 * i]);
    const int lo = hex_digit_value(text[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      secure_wipe(out.data(), out.size());
      const size_t pos = hi < 0 ? 2 * i : 2 * i + 1;
      why = "must be " + digits + " hex characters; character " + std::to_string(pos + 1) +
            " is not a hex digit";
      return false;
    }
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return true;
}

}  // namespace oemlink
