#include "tools/ingest-sink/fault_injector.hpp"

namespace oemlink::ingest_sink {

FaultInjector::FaultInjector(FaultOptions options)
    : options_(options), started_(std::chrono::steady_clock::now()), rng_(options.seed) {}

Fault FaultInjector::next() {
  if (std::chrono::steady_clock::now() - started_ < options_.down_time) return Fault::kDown503;
  double u, coin;
  {
    std::lock_guard lock(mutex_);
    u = rng_.next_unit();
    coin = rng_.next_unit();
  }
  // The rates partition [0, 1): each request gets at most one fault.
  double edge = options_.drop_rate;
  if (u < edge) return Fault::kDrop;
  edge += options_.stall_rate;
  if (u < edge) return coin < 0.5 ? Fault::kStallThen500 : Fault::kStallThenDrop;
  edge += options_.fail_rate_500;
  if (u < edge) return Fault::kFail500;
  edge += options_.fail_rate_400;
  if (u < edge) return Fault::kFail400;
  return Fault::kNone;
}

}  // namespace oemlink::ingest_sink
