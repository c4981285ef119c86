#include "core/crypto/keccak.hpp"

#include <string>

namespace oemlink::crypto {

Hash32 eip191_hash(std::span<const uint8_t> message) {
  const std::string prefix =
      "\x19"
      "Ethereum Signed Message:\n" +
      std::to_string(message.size());
  Keccak256 h;
  h.update({reinterpret_cast<const uint8_t*>(prefix.data()), prefix.size()});
  h.update(message);
  return h.finalize();
}

}  // namespace oemlink::crypto
