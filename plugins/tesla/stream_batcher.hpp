// StreamBatcher: a car's streamed readings collected over a window (default 10 s, as DIMO's
// oracle does) and emitted as ONE event per car per window. Every datum is kept with its own
// receipt time, as DIMO keeps each; none is collapsed into a "latest". When the host answers
// emit() with RETRY (back-pressure) the batch is kept and retried a window later; a batch that
// grows past kMaxReadings while the host refuses loses its oldest readings, counted and logged.
#ifndef OEMLINK_TESLA_STREAM_BATCHER_HPP
#define OEMLINK_TESLA_STREAM_BATCHER_HPP

#include "signal_reading.hpp"

#include <oemlink/driver.hpp>

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace oemlink::tesla {

class StreamBatcher : public std::enable_shared_from_this<StreamBatcher> {
 public:
  static constexpr size_t kMaxReadings = 5000;
  using Lookup = std::function<ConnHandle(const std::string& vin)>;

  StreamBatcher(Host host, int64_t window_ms, Lookup lookup);
  void add(const std::string& vin, std::vector<SignalReading> readings);
  // Emits `vin`'s batch now (its connection closes); what the host refuses then is counted.
  void flush(const std::string& vin);
  void flush_all();
  size_t pending(const std::string& vin) const;

 private:
  struct Batch {
    std::vector<SignalReading> readings;
    uint64_t timer = 0;
  };
  void arm(const std::string& vin, Batch& b);
  void on_timer(const std::string& vin);
  // Emits `readings` for `vin`; returns what must be kept (the whole batch on RETRY).
  bool emit(const std::string& vin, std::vector<SignalReading>& readings);

  Host host_;
  int64_t window_ms_;
  Lookup lookup_;
  mutable std::mutex mu_;
  std::map<std::string, Batch> batches_;
};

}  // namespace oemlink::tesla

#endif
