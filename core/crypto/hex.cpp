// Text forms: EIP-55 addresses and 0x-hex signatures.
#include "core/crypto/secp256k1_signer.hpp"

namespace oemlink::crypto {
namespace {

constexpr char kLowerHex[] = "0123456789abcdef";

std::string to_hex_lower(const uint8_t* p, size_t n) {
  std::string out;
  out.reserve(2 + 2 * n);
  out += "0x";
  for (size_t i = 0; i < n; ++i) {
    out += kLowerHex[p[i] >> 4];
    out += kLowerHex[p[i] & 0xf];
  }
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Parses "0x" + exactly 2*N hex digits of any case.
template <size_t N>
std::optional<std::array<uint8_t, N>> parse_0x_hex(std::string_view text) {
  if (text.size() != 2 + 2 * N || text[0] != '0' || text[1] != 'x') return std::nullopt;
  std::array<uint8_t, N> out;
  for (size_t i = 0; i < N; ++i) {
    const int hi = hex_value(text[2 + 2 * i]);
    const int lo = hex_value(text[3 + 2 * i]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return out;
}

}  // namespace

std::string to_checksum_address(const Address20& a) {
  std::string out = to_hex_lower(a.data(), a.size());
  // EIP-55: the hash is over the 40 lowercase ASCII digits without "0x".
  const Hash32 h = keccak256(std::string_view(out).substr(2));
  for (size_t i = 0; i < 40; ++i) {
    const uint8_t nibble = (i % 2 == 0) ? (h[i / 2] >> 4) : (h[i / 2] & 0xf);
    char& c = out[2 + i];
    if (nibble >= 8 && c >= 'a' && c <= 'f') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

std::optional<Address20> parse_address(std::string_view text) {
  return parse_0x_hex<20>(text);
}

std::string signature_hex(const Signature65& sig) {
  return to_hex_lower(sig.data(), sig.size());
}

std::optional<Signature65> parse_signature_hex(std::string_view text) {
  return parse_0x_hex<65>(text);
}

}  // namespace oemlink::crypto
