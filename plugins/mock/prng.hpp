// Stateless hashing used as the mock's randomness: every random choice is a pure function of
// (car seed, what is being decided), so a car needs no stored generator state and the same
// seed and poll times always replay the same car.
// Not core/common/splitmix64.hpp: a driver builds against sdk/ alone and may not include core/.
#ifndef OEMLINK_MOCK_PRNG_HPP
#define OEMLINK_MOCK_PRNG_HPP

#include <cstdint>
#include <string_view>

namespace oemlink::mock {

// splitmix64's finaliser: a bijective 64-bit mix with full avalanche.
constexpr uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

constexpr uint64_t mix64(uint64_t a, uint64_t b) {
  return mix64(a ^ mix64(b));
}

// Uniform in [0, 1) from the top 53 bits.
constexpr double unit(uint64_t x) {
  return static_cast<double>(x >> 11) * 0x1.0p-53;
}

constexpr double uniform(uint64_t key, double lo, double hi) {
  return lo + (hi - lo) * unit(key);
}

// FNV-1a: connection ids are short, and only their identity matters.
constexpr uint64_t hash_text(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ULL;
  return h;
}

// Salts keep the draws for different decisions independent of each other.
enum class Salt : uint64_t {
  kTraits = 1,
  kStart,
  kPhase,
  kStep,
  kPollFault,
  kStreamFault,
};

constexpr uint64_t draw(uint64_t car_seed, Salt salt, uint64_t index, uint64_t sub = 0) {
  return mix64(mix64(car_seed, static_cast<uint64_t>(salt)), index * 0x100000001ULL + sub);
}

}  // namespace oemlink::mock

#endif  // OEMLINK_MOCK_PRNG_HPP
