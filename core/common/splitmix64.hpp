// The one pseudo-random generator of core and tools: splitmix64. Tiny state, a good spread for
// jitter, event-id bits and fault injection, and the same sequence for the same seed on every
// platform and standard library (which std::mt19937 plus std::*_distribution do not promise).
// Not for secrets: keys and nonces come from RAND_bytes.
// (plugins/mock keeps its own stateless copy in plugins/mock/prng.hpp: drivers build against
// sdk/ alone and may not include core/.)
#pragma once

#include <cstdint>

namespace oemlink {

class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}

  uint64_t next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

  // Uniform in [0, 1), from the top 53 bits of next().
  double next_unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

 private:
  uint64_t state_;
};

}  // namespace oemlink
