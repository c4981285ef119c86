#include "core/crypto/detail.hpp"

#include "core/common/secure_wipe.hpp"

#include <openssl/rand.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

namespace oemlink::crypto::detail {
namespace {

secp256k1_context* make_context() {
  secp256k1_context* ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
  if (ctx == nullptr) contract_failure("secp256k1_context_create failed");
  // Randomisation blinds the signing scalar multiplication against timing/power side channels;
  // a context without it would still be correct, but refusing is the safer failure.
  std::array<uint8_t, 32> seed{};
  WipeOnExit wipe(seed);
  if (RAND_bytes(seed.data(), static_cast<int>(seed.size())) != 1) {
    secp256k1_context_destroy(ctx);
    throw std::runtime_error("secp256k1 context: RAND_bytes failed, no entropy to randomise it");
  }
  if (secp256k1_context_randomize(ctx, seed.data()) != 1) {
    contract_failure("secp256k1_context_randomize failed");
  }
  return ctx;
}

}  // namespace

const secp256k1_context* context() {
  // Deliberately never destroyed: signing may run from other static destructors or detached
  // threads during shutdown.
  static const secp256k1_context* const ctx = make_context();
  return ctx;
}

void contract_failure(const char* what) noexcept {
  std::fprintf(stderr, "oemlink::crypto contract violation: %s\n", what);
  std::abort();
}

WipeOnExit::~WipeOnExit() {
  secure_wipe(p_, n_);
}

}  // namespace oemlink::crypto::detail
