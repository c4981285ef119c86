// The key vault: the enclave's whole interface, and nothing more. One master seed per
// deployment; connection n signs with BIP-32 child m/n'. No call returns a seed or a private key.
#pragma once

#include "core/crypto/secp256k1_signer.hpp"

#include <cstdint>
#include <memory>
#include <stdexcept>

namespace oemlink::vault {

class VaultError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class KeyVault {
 public:
  virtual ~KeyVault() = default;
  // [any-thread] The Ethereum address of child m/<child>'. Throws VaultError (unreachable
  // keyd, child >= 2^31).
  [[nodiscard]] virtual crypto::Address20 address(uint32_t child) = 0;
  // [any-thread] Signs a 32-byte hash with child m/<child>' (65 bytes r||s||v, v = 27/28).
  [[nodiscard]] virtual crypto::Signature65 sign_hash(uint32_t child,
                                                      const crypto::Hash32& hash32) = 0;
};

using KeyVaultPtr = std::unique_ptr<KeyVault>;

}  // namespace oemlink::vault
