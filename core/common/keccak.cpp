#include "core/common/keccak.hpp"

#include <algorithm>
#include <bit>
#include <cstring>

namespace oemlink {
namespace {

constexpr std::array<uint64_t, 24> kRoundConstants = {
    0x0000000000000001ULL, 0x0000000000008082ULL, 0x800000000000808aULL, 0x8000000080008000ULL,
    0x000000000000808bULL, 0x0000000080000001ULL, 0x8000000080008081ULL, 0x8000000000008009ULL,
    0x000000000000008aULL, 0x0000000000000088ULL, 0x0000000080008009ULL, 0x000000008000000aULL,
    0x000000008000808bULL, 0x800000000000008bULL, 0x8000000000008089ULL, 0x8000000000008003ULL,
    0x8000000000008002ULL, 0x8000000000000080ULL, 0x000000000000800aULL, 0x800000008000000aULL,
    0x8000000080008081ULL, 0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL,
};

// rho offsets and pi destinations along the pi cycle starting at lane 1, so the combined
// rho+pi step is one chain of rotates with no scratch 25-lane array.
constexpr std::array<int, 24> kRho = {1,  3,  6,  10, 15, 21, 28, 36, 45, 55, 2,  14,
                                      27, 41, 56, 8,  25, 43, 62, 18, 39, 61, 20, 44};
constexpr std::array<int, 24> kPi = {10, 7,  11, 17, 18, 3, 5,  16, 8,  21, 24, 4,
                                     15, 23, 19, 13, 12, 2, 20, 14, 22, 9,  6,  1};

// All loops have constant trip counts and are fully unrolled, so the lanes stay in registers and
// the table lookups fold into immediates: the hot path hashes every event's data once.
inline void keccak_f1600(std::array<uint64_t, 25>& st) noexcept {
  uint64_t* a = st.data();
  for (int round = 0; round < 24; ++round) {
    uint64_t c[5];
#pragma GCC unroll 5
    for (int x = 0; x < 5; ++x) c[x] = a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^ a[x + 20];
#pragma GCC unroll 5
    for (int x = 0; x < 5; ++x) {
      const uint64_t d = c[(x + 4) % 5] ^ std::rotl(c[(x + 1) % 5], 1);
#pragma GCC unroll 5
      for (int y = 0; y < 25; y += 5) a[y + x] ^= d;
    }
    uint64_t carry = a[1];
#pragma GCC unroll 24
    for (int i = 0; i < 24; ++i) {
      const int j = kPi[i];
      const uint64_t next = a[j];
      a[j] = std::rotl(carry, kRho[i]);
      carry = next;
    }
#pragma GCC unroll 5
    for (int y = 0; y < 25; y += 5) {
      const uint64_t b0 = a[y], b1 = a[y + 1], b2 = a[y + 2], b3 = a[y + 3], b4 = a[y + 4];
      a[y] = b0 ^ (~b1 & b2);
      a[y + 1] = b1 ^ (~b2 & b3);
      a[y + 2] = b2 ^ (~b3 & b4);
      a[y + 3] = b3 ^ (~b4 & b0);
      a[y + 4] = b4 ^ (~b0 & b1);
    }
    a[0] ^= kRoundConstants[round];
  }
}

inline uint64_t load_le64(const uint8_t* p) noexcept {
  uint64_t v;
  std::memcpy(&v, p, 8);
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap64(v);
  return v;
}

inline void absorb_block(std::array<uint64_t, 25>& st, const uint8_t* block) noexcept {
#pragma GCC unroll 17
  for (size_t i = 0; i < Keccak256::kRate / 8; ++i) st[i] ^= load_le64(block + 8 * i);
  keccak_f1600(st);
}

}  // namespace

void Keccak256::reset() noexcept {
  state_.fill(0);
  buffered_ = 0;
}

void Keccak256::update(std::span<const uint8_t> data) noexcept {
  const uint8_t* p = data.data();
  size_t n = data.size();
  if (buffered_ > 0) {
    const size_t take = std::min(n, kRate - buffered_);
    std::memcpy(buf_.data() + buffered_, p, take);
    buffered_ += take;
    p += take;
    n -= take;
    if (buffered_ < kRate) return;
    absorb_block(state_, buf_.data());
    buffered_ = 0;
  }
  for (; n >= kRate; p += kRate, n -= kRate) absorb_block(state_, p);
  if (n > 0) std::memcpy(buf_.data(), p, n);
  buffered_ = n;
}

Hash32 Keccak256::finalize() noexcept {
  // Original Keccak multi-rate padding: 0x01 first, 0x80 last (the same byte when one is left).
  std::memset(buf_.data() + buffered_, 0, kRate - buffered_);
  buf_[buffered_] ^= 0x01;
  buf_[kRate - 1] ^= 0x80;
  absorb_block(state_, buf_.data());
  Hash32 out;
  for (size_t i = 0; i < 4; ++i) {
    uint64_t v = state_[i];
    if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap64(v);
    std::memcpy(out.data() + 8 * i, &v, 8);
  }
  reset();
  return out;
}

Hash32 keccak256(std::span<const uint8_t> data) {
  Keccak256 h;
  h.update(data);
  return h.finalize();
}

}  // namespace oemlink
