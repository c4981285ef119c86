#include "core/crypto/bip32.hpp"

#include "core/crypto/detail.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <stdexcept>
#include <string>

namespace oemlink::crypto {
namespace {

using Hmac64 = std::array<uint8_t, 64>;

void hmac_sha512(Hmac64& out, std::span<const uint8_t> key, std::span<const uint8_t> data) {
  unsigned int len = 0;
  if (HMAC(EVP_sha512(), key.data(), static_cast<int>(key.size()), data.data(), data.size(),
           out.data(), &len) == nullptr ||
      len != out.size()) {
    // Only reachable if OpenSSL itself is broken (e.g. SHA-512 disabled by a provider config).
    throw std::runtime_error("BIP-32: HMAC-SHA512 unavailable from OpenSSL");
  }
}

}  // namespace

namespace detail {

void bip32_master(std::array<uint8_t, 64>& out64, std::span<const uint8_t> seed) {
  static constexpr std::string_view kMasterKey = "Bitcoin seed";
  hmac_sha512(out64, {reinterpret_cast<const uint8_t*>(kMasterKey.data()), kMasterKey.size()},
              seed);
  if (secp256k1_ec_seckey_verify(context(), out64.data()) != 1) {
    secure_wipe(out64.data(), out64.size());
    throw std::runtime_error("BIP-32: this seed yields an invalid master key");
  }
}

}  // namespace detail

PrivateKey derive_hardened_child(std::span<const uint8_t> seed, uint32_t child) {
  if (seed.size() < 16 || seed.size() > 64) {
    detail::contract_failure("derive_hardened_child: seed must be 16..64 bytes");
  }
  if (child >= 0x80000000u) {
    detail::contract_failure("derive_hardened_child: child must be < 2^31");
  }
  Hmac64 master;  // IL = master secret, IR = master chain code
  detail::WipeOnExit wipe_master(master);
  try {
    detail::bip32_master(master, seed);
  } catch (const std::runtime_error&) {
    throw std::runtime_error("BIP-32: seed yields an invalid master key (deriving child " +
                             std::to_string(child) + "')");
  }
  PrivateKey key;
  std::copy_n(master.begin(), 32, key.begin());

  // Hardened child data: 0x00 || ser256(k_par) || ser32(child + 2^31).
  std::array<uint8_t, 37> data;
  detail::WipeOnExit wipe_data(data);
  data[0] = 0x00;
  std::copy_n(key.begin(), 32, data.begin() + 1);
  const uint32_t index = child | 0x80000000u;
  for (int i = 0; i < 4; ++i) data[33 + i] = static_cast<uint8_t>(index >> (24 - 8 * i));

  Hmac64 derived;  // IL = tweak, IR = child chain code (unused: DIMO derives one level only)
  detail::WipeOnExit wipe_derived(derived);
  hmac_sha512(derived, std::span<const uint8_t>(master).subspan(32, 32), data);

  // k_child = (IL + k_par) mod n; fails when IL >= n or the sum is 0, which BIP-32 calls an
  // invalid child. DIMO's addresses are bound to child numbers, so skipping ahead would be wrong.
  if (secp256k1_ec_seckey_tweak_add(detail::context(), key.data(), derived.data()) != 1) {
    secure_wipe(key.data(), key.size());
    throw std::runtime_error("BIP-32: child " + std::to_string(child) +
                             "' is invalid for this seed");
  }
  return key;
}

}  // namespace oemlink::crypto
