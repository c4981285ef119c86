// The key vault: the enclave's whole interface, and nothing more. One master seed per
// deployment; connection n signs with BIP-32 child m/n'. No call returns a seed or a private key.
// The vault owns the child registry: it signs for, and gives the address of, only children
// claimed by a connection and not retired, so a host can reach only the cars it serves.
#pragma once

#include "core/crypto/secp256k1_signer.hpp"

#include <cstdint>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

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

  // [any-thread] Claims (child, connection id) pairs for good, as one transaction where the
  // backend allows (a start-up claims its whole fleet at once). Returns the index and reason of
  // each refused claim (child owned by another connection, connection on another child, child
  // retired); the others may sign from then on. Throws VaultError when the registry is
  // unreachable.
  using ClaimList = std::span<const std::pair<uint32_t, std::string_view>>;
  [[nodiscard]] virtual std::vector<std::pair<size_t, std::string>> claim_all(ClaimList claims) = 0;

  // [any-thread] Claims a child number never claimed before (one more than the highest ever
  // claimed, retired ones included) for `connection_id`, in one transaction, and returns it; it
  // may sign from then on. Idempotent: a connection that already holds an active child gets that
  // child back. Throws VaultError when the connection's child was retired, when the registry is
  // unreachable, or when the backend keeps no registry.
  // (Declared here for the connection lifecycle; the vault work implements it in every backend
  // and makes it pure. Until then a backend without it refuses.)
  [[nodiscard]] virtual uint32_t claim_next(std::string_view connection_id) {
    throw VaultError("connection " + std::string(connection_id) +
                     ": this vault cannot allocate key children yet");
  }

  // [any-thread] Retires a claimed child: it never signs or claims again. Throws VaultError.
  virtual void retire(uint32_t child) = 0;
};

using KeyVaultPtr = std::unique_ptr<KeyVault>;

}  // namespace oemlink::vault
