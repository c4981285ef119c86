// oemlink-bench-signing: signed events per second through the envelope (EventBuilder + the
// in-process vault: serialize once, Keccak-256, child-key signature), next to the raw rate of
// Keccak-256 + libsecp256k1 signing the same bytes with a ready key, measured in the same run,
// interleaved so machine noise hits both alike.
//
//   oemlink-bench-signing [--seconds S] [--rounds R] [--children N]
#include "core/common/locked_buffer.hpp"
#include "core/crypto/bip32.hpp"
#include "core/crypto/keccak.hpp"
#include "core/crypto/secp256k1_signer.hpp"
#include "core/host/vault_wiring.hpp"
#include "core/pipeline/event_builder.hpp"
#include "core/vault/in_process_vault.hpp"
#include "tools/bench/mock_batch.hpp"

#include <oemlink/driver.hpp>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace {

using namespace oemlink;
using Clock = std::chrono::steady_clock;

template <class Fn>
double rate(double seconds, Fn&& fn) {
  auto end = Clock::now() + std::chrono::duration<double>(seconds);
  uint64_t n = 0;
  auto t0 = Clock::now();
  while (Clock::now() < end) {
    for (int i = 0; i < 64; ++i) fn(n++);
  }
  return static_cast<double>(n) / std::chrono::duration<double>(Clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 3;
  int rounds = 3;
  uint32_t children = 1000;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--seconds")) seconds = std::stod(argv[i + 1]);
    if (!std::strcmp(argv[i], "--rounds")) rounds = std::stoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--children"))
      children = static_cast<uint32_t>(std::stoul(argv[i + 1]));
  }
  LockedBuffer seed(32);
  for (int i = 0; i < 32; ++i) seed.data()[i] = static_cast<uint8_t>(i * 7 + 1);
  std::vector<uint8_t> seed_copy(seed.data(), seed.data() + 32);
  vault::InProcessVault vault(std::move(seed));
  host::VaultSigner signer(vault);
  pipeline::EventBuilder builder(pipeline::EnvelopeSettings{}, &signer);
  pipeline::EventBuilder unsigned_builder(pipeline::EnvelopeSettings{});
  auto batch = bench::mock_batch(1'741'089'660'000);
  std::string vin = "5YJ3E1EA7KF000001";
  auto identity = [&](uint64_t n) {
    uint32_t child = static_cast<uint32_t>(n % children);
    return pipeline::ConnectionIdentity{.id = "car",
                                        .vin = vin,
                                        .vehicle_token_id = child + 1,
                                        .synthetic_token_id = child + 1,
                                        .key_child = child};
  };
  // The raw path signs the same bytes an event's data has, with a key already in hand.
  std::string data(unsigned_builder.build(identity(0), batch, 1'741'089'660'000).data());
  crypto::PrivateKey key = crypto::derive_hardened_child(seed_copy, 0);

  std::printf("signing: %zu-byte data, %u connections (children), %d rounds x %.1f s each\n",
              data.size(), children, rounds, seconds);
  double best_raw = 0, best_env = 0, sum_ratio = 0;
  for (int r = 0; r < rounds; ++r) {
    double raw = rate(seconds, [&](uint64_t) {
      auto sig = crypto::sign_hash(key, crypto::keccak256(data));
      asm volatile("" : : "r"(sig.data()) : "memory");
    });
    double env = rate(seconds, [&](uint64_t n) {
      auto ev = builder.build(identity(n), batch, 1'741'089'660'000);
      asm volatile("" : : "r"(ev.json.data()) : "memory");
    });
    std::printf("  round %d: raw keccak+sign %.0f/s, signed envelope %.0f/s, ratio %.3f\n", r + 1,
                raw, env, env / raw);
    best_raw = std::max(best_raw, raw);
    best_env = std::max(best_env, env);
    sum_ratio += env / raw;
  }
  std::printf("best: raw %.0f/s, envelope %.0f/s; mean ratio %.3f (target >= 0.90)\n", best_raw,
              best_env, sum_ratio / rounds);
  secure_wipe(key.data(), key.size());
  secure_wipe(seed_copy.data(), seed_copy.size());
  return 0;
}
