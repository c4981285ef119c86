#include "core/crypto/secp256k1_signer.hpp"

#include "core/crypto/detail.hpp"

#include <secp256k1.h>
#include <secp256k1_recovery.h>

#include <algorithm>
#include <cstring>

namespace oemlink::crypto {
namespace {

using detail::context;

Address20 address_of_pubkey(const secp256k1_pubkey& pub) {
  std::array<uint8_t, 65> uncompressed;
  size_t len = uncompressed.size();
  secp256k1_ec_pubkey_serialize(context(), uncompressed.data(), &len, &pub,
                                SECP256K1_EC_UNCOMPRESSED);
  // Skip the 0x04 prefix: Ethereum hashes bare X || Y.
  const Hash32 h = keccak256(std::span<const uint8_t>(uncompressed).subspan(1));
  Address20 out;
  std::copy(h.end() - out.size(), h.end(), out.begin());
  return out;
}

bool is_zero(const uint8_t* p, size_t n) {
  return std::all_of(p, p + n, [](uint8_t b) { return b == 0; });
}

}  // namespace

bool is_valid_private_key(const PrivateKey& key) {
  return secp256k1_ec_seckey_verify(context(), key.data()) == 1;
}

Address20 address_of(const PrivateKey& key) {
  secp256k1_pubkey pub;
  if (secp256k1_ec_pubkey_create(context(), &pub, key.data()) != 1) {
    detail::contract_failure("address_of: invalid private key");
  }
  return address_of_pubkey(pub);
}

Signature65 sign_hash(const PrivateKey& key, const Hash32& hash32) {
  secp256k1_ecdsa_recoverable_signature rsig;
  // The opaque signature holds no secret, but nonce-derived state is best not left behind.
  detail::WipeOnExit wipe(&rsig, sizeof rsig);
  // nullptr noncefp = secp256k1_nonce_function_rfc6979 (deterministic, as DIMO requires).
  if (secp256k1_ecdsa_sign_recoverable(context(), &rsig, hash32.data(), key.data(), nullptr,
                                       nullptr) != 1) {
    detail::contract_failure("sign_hash: invalid private key");
  }
  Signature65 out;
  int recid = -1;
  secp256k1_ecdsa_recoverable_signature_serialize_compact(context(), out.data(), &recid, &rsig);
  // libsecp256k1 always emits low-s and never recid 2/3 for real keys; a verifier rejects
  // anything else, so a violation here is a library fault worth stopping on.
  if (std::memcmp(out.data() + 32, detail::kHalfOrder.data(), 32) > 0 || recid < 0 || recid > 1) {
    detail::contract_failure("sign_hash: libsecp256k1 produced a high-s or recid>1 signature");
  }
  out[64] = static_cast<uint8_t>(recid + 27);
  return out;
}

std::optional<Address20> recover_address(const Hash32& hash32, const Signature65& sig) {
  int recid;
  switch (sig[64]) {
    case 27:
    case 28:
      recid = sig[64] - 27;
      break;
    case 0:
    case 1:
      recid = sig[64];
      break;
    default:
      return std::nullopt;
  }
  const uint8_t* r = sig.data();
  const uint8_t* s = sig.data() + 32;
  // libsecp256k1 rejects overflowing r/s at parse and zero at recover; checking zero here too
  // keeps the rule visible. Recovery does not enforce low-s, so that check is ours.
  if (is_zero(r, 32) || is_zero(s, 32)) return std::nullopt;
  if (std::memcmp(s, detail::kHalfOrder.data(), 32) > 0) return std::nullopt;
  secp256k1_ecdsa_recoverable_signature rsig;
  if (secp256k1_ecdsa_recoverable_signature_parse_compact(context(), &rsig, sig.data(), recid) !=
      1) {
    return std::nullopt;
  }
  secp256k1_pubkey pub;
  if (secp256k1_ecdsa_recover(context(), &pub, &rsig, hash32.data()) != 1) return std::nullopt;
  return address_of_pubkey(pub);
}

}  // namespace oemlink::crypto
