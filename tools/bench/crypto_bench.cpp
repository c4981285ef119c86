// Google Benchmark kernels for core/crypto: the per-event signing cost. BM_KeccakAndSign is the
// "raw rate" the envelope benchmark compares against (hash ~2 KiB of data, sign the hash).
#include "core/crypto/bip32.hpp"
#include "core/crypto/keccak.hpp"
#include "core/crypto/secp256k1_signer.hpp"

#include <benchmark/benchmark.h>

#include <vector>

namespace {

using namespace oemlink::crypto;

constexpr size_t kPayloadBytes = 2048;

std::vector<uint8_t> payload() {
  std::vector<uint8_t> v(kPayloadBytes);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<uint8_t>(i * 131 + 7);
  return v;
}

// A fixed child key, as a connection would hold it; a benchmark is no place for real seeds.
PrivateKey bench_key() {
  std::vector<uint8_t> seed(32, 0x42);
  return derive_hardened_child(seed, 7);
}

void BM_Keccak256(benchmark::State& state) {
  const auto data = payload();
  for (auto _ : state) benchmark::DoNotOptimize(keccak256(data));
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(data.size()));
}
BENCHMARK(BM_Keccak256);

void BM_SignHash(benchmark::State& state) {
  const PrivateKey key = bench_key();
  Hash32 hash = keccak256(payload());
  for (auto _ : state) {
    benchmark::DoNotOptimize(sign_hash(key, hash));
    ++hash[0];  // a fresh hash each time, as real events have
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SignHash);

void BM_KeccakAndSign(benchmark::State& state) {
  const PrivateKey key = bench_key();
  auto data = payload();
  for (auto _ : state) {
    benchmark::DoNotOptimize(sign_hash(key, keccak256(data)));
    ++data[0];
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_KeccakAndSign);

void BM_DeriveHardenedChild(benchmark::State& state) {
  const std::vector<uint8_t> seed(32, 0x42);
  uint32_t child = 0;
  for (auto _ : state) {
    PrivateKey k = derive_hardened_child(seed, child++ & 0x7fffffff);
    benchmark::DoNotOptimize(k);
    oemlink::secure_wipe(k.data(), k.size());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DeriveHardenedChild);

void BM_Recover(benchmark::State& state) {
  const PrivateKey key = bench_key();
  const Hash32 hash = keccak256(payload());
  const Signature65 sig = sign_hash(key, hash);
  for (auto _ : state) benchmark::DoNotOptimize(recover_address(hash, sig));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Recover);

}  // namespace

BENCHMARK_MAIN();
