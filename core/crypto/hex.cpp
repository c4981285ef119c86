// Text forms: EIP-55 addresses and 0x-hex signatures.
#include "core/crypto/secp256k1_signer.hpp"

#include "core/common/hex.hpp"

namespace oemlink::crypto {
namespace {

std::string to_0x_hex(std::span<const uint8_t> bytes) {
  std::string out;
  out.reserve(2 + 2 * bytes.size());
  out += "0x";
  append_hex(out, bytes);
  return out;
}

// Parses "0x" + exactly 2*N hex digits of any case.
template <size_t N>
std::optional<std::array<uint8_t, N>> parse_0x_hex(std::string_view text) {
  if (!text.starts_with("0x")) return std::nullopt;
  std::array<uint8_t, N> out;
  if (!decode_hex(text.substr(2), out)) return std::nullopt;
  return out;
}

}  // namespace

std::string to_checksum_address(const Address20& a) {
  std::string out = to_0x_hex(a);
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
  return to_0x_hex(sig);
}

std::optional<Signature65> parse_signature_hex(std::string_view text) {
  return parse_0x_hex<65>(text);
}

}  // namespace oemlink::crypto
