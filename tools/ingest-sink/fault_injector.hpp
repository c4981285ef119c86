// Decides, per POST, whether to misbehave instead of ingesting: the failure modes a real ingest
// node shows (5xx, spurious 4xx, slow answers, dropped connections, an outage at start), at
// rates the tests set, reproducible with a seed.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>

#include "core/common/splitmix64.hpp"

namespace oemlink::ingest_sink {

struct FaultOptions {
  double fail_rate_500 = 0;
  double fail_rate_400 = 0;
  double stall_rate = 0;
  double drop_rate = 0;
  std::chrono::milliseconds stall_time{2000};
  std::chrono::milliseconds down_time{0};  // 503 for everything during this long after start
  uint64_t seed = 1;
};

enum class Fault {
  kNone,
  kDown503,        // still "down": 503
  kDrop,           // close the connection without answering
  kStallThen500,   // wait stall_time, then 500
  kStallThenDrop,  // wait stall_time, then close
  kFail500,
  kFail400,
};

class FaultInjector {
 public:
  explicit FaultInjector(FaultOptions options);

  // Thread-safe. One random draw per call, so a single client sending sequentially sees the same
  // sequence of faults for the same seed.
  Fault next();

  std::chrono::milliseconds stall_time() const { return options_.stall_time; }

 private:
  FaultOptions options_;
  std::chrono::steady_clock::time_point started_;
  std::mutex mutex_;
  SplitMix64 rng_;
};

}  // namespace oemlink::ingest_sink
