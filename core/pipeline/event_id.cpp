#include "core/pipeline/event_id.hpp"

#include <random>
#include <span>

#include "core/common/hex.hpp"

namespace oemlink::pipeline {
namespace {

uint64_t os_seed() {
  std::random_device rd;
  return (static_cast<uint64_t>(rd()) << 32) ^ rd();
}

}  // namespace

EventIdGenerator::EventIdGenerator() : rng_(os_seed()) {}

std::string EventIdGenerator::next(int64_t unix_ms) {
  uint8_t b[16];
  uint64_t ms = static_cast<uint64_t>(unix_ms);
  for (int i = 0; i < 6; ++i) b[i] = static_cast<uint8_t>(ms >> (40 - 8 * i));
  uint64_t r1 = rng_.next(), r2 = rng_.next();
  for (int i = 6; i < 8; ++i) b[i] = static_cast<uint8_t>(r1 >> (8 * i));
  for (int i = 8; i < 16; ++i) b[i] = static_cast<uint8_t>(r2 >> (8 * (i - 8)));
  b[6] = static_cast<uint8_t>((b[6] & 0x0f) | 0x70);  // version 7
  b[8] = static_cast<uint8_t>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
  const std::span<const uint8_t> bytes(b);
  std::string out;
  out.reserve(36);
  append_hex(out, bytes.subspan(0, 4));
  out.push_back('-');
  append_hex(out, bytes.subspan(4, 2));
  out.push_back('-');
  append_hex(out, bytes.subspan(6, 2));
  out.push_back('-');
  append_hex(out, bytes.subspan(8, 2));
  out.push_back('-');
  append_hex(out, bytes.subspan(10, 6));
  return out;
}

}  // namespace oemlink::pipeline
