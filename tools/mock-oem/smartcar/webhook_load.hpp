// Load mode of smartcar-send: `count` deliveries with distinct eventIds at a steady `rate`, up to
// `concurrency` in flight over keep-alive connections, no retries. With `vehicle_ids`, delivery k
// is about vehicle_ids[k % size] (a fleet, as a receiver with many cars sees it). Latency is
// measured from each delivery's scheduled send time to its answer, so a receiver that falls behind
// shows it (no coordinated omission).
#pragma once

#include "tools/mock-oem/smartcar/webhook_payload.hpp"
#include "tools/mock-oem/smartcar/webhook_sender.hpp"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace oemlink::mock_oem::smartcar {

struct LoadOptions {
  int64_t count = 1000;
  double rate = 1000;  // deliveries per second
  int concurrency = 64;
  std::vector<std::string> vehicle_ids;  // empty: every delivery names the payload's vehicle
};

struct LoadReport {
  int64_t sent = 0, ok = 0, failed = 0;
  std::map<std::string, int64_t> statuses;  // "200", "401", "timeout", ...
  double seconds = 0, achieved_rate = 0;
  double p50_ms = 0, p90_ms = 0, p99_ms = 0, max_ms = 0;  // scheduled send -> 2xx
};

LoadReport run_load(Delivery& delivery, const SendOptions& send, const LoadOptions& load);

}  // namespace oemlink::mock_oem::smartcar
