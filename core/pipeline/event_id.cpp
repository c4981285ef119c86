#include "core/pipeline/event_id.hpp"

#include <random>

namespace oemlink::pipeline {

EventIdGenerator::EventIdGenerator() {
  std::random_device rd;
  state_ = (static_cast<uint64_t>(rd()) << 32) ^ rd();
}

std::string EventIdGenerator::next(int64_t unix_ms) {
  auto rnd = [this] {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  };
  unsigned char b[16];
  uint64_t ms = static_cast<uint64_t>(unix_ms);
  for (int i = 0; i < 6; ++i) b[i] = static_cast<unsigned char>(ms >> (40 - 8 * i));
  uint64_t r1 = rnd(), r2 = rnd();
  for (int i = 6; i < 8; ++i) b[i] = static_cast<unsigned char>(r1 >> (8 * i));
  for (int i = 8; i < 16; ++i) b[i] = static_cast<unsigned char>(r2 >> (8 * (i - 8)));
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x70);  // version 7
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[b[i] >> 4]);
    out.push_back(kHex[b[i] & 15]);
  }
  return out;
}

}  // namespace oemlink::pipeline
