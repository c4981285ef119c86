// Text forms: EIP-55 addresses and 0x-hex signatures.
#include "core/crypto/secp256k1_signer.hpp"

#include "core/common/eip55.hpp"
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
  return eip55_address(to_hex(a));
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
