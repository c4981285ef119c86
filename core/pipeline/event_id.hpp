// Event ids: UUID version 7 (Unix ms + random), assigned once when the event is built and kept
// across every retry so the ingest side can recognise duplicates.
#pragma once

#include <cstdint>
#include <string>

#include "core/common/splitmix64.hpp"

namespace oemlink::pipeline {

class EventIdGenerator {
 public:
  // Seeded from the OS once; ids need uniqueness, not secrecy.
  EventIdGenerator();
  explicit EventIdGenerator(uint64_t seed) : rng_(seed) {}
  // 36-character lowercase UUIDv7 text. Not thread-safe: one generator per thread or lock.
  std::string next(int64_t unix_ms);

 private:
  SplitMix64 rng_;
};

}  // namespace oemlink::pipeline
