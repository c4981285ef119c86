#include "stream_batcher.hpp"

namespace oemlink::tesla {

StreamBatcher::StreamBatcher(Host host, int64_t window_ms, Lookup lookup)
    : host_(host), window_ms_(window_ms), lookup_(std::move(lookup)) {}

size_t StreamBatcher::pending(const std::string& vin) const {
  std::lock_guard lock(mu_);
  auto it = batches_.find(vin);
  return it == batches_.end() ? 0 : it->second.readings.size();
}

void StreamBatcher::arm(const std::string& vin, Batch& b) {
  if (b.timer) return;
  std::weak_ptr<StreamBatcher> weak = weak_from_this();
  b.timer = host_.start_timer(uint32_t(window_ms_), [weak, vin](bool cancelled) {
    if (cancelled) return;
    if (auto self = weak.lock()) self->on_timer(vin);
  });
  if (!b.timer) host_.count("stream_timer_failures");
}

void StreamBatcher::add(const std::string& vin, std::vector<SignalReading> readings) {
  if (readings.empty()) return;
  std::lock_guard lock(mu_);
  Batch& b = batches_[vin];
  for (auto& r : readings) b.readings.push_back(std::move(r));
  if (b.readings.size() > kMaxReadings) {
    const size_t drop = b.readings.size() - kMaxReadings;
    b.readings.erase(b.readings.begin(), b.readings.begin() + long(drop));
    host_.count("stream_readings_dropped", drop);
    host_.log(OEMLINK_LOG_ERROR, "tesla: stream batch of " + vin + " over " +
                                     std::to_string(kMaxReadings) + " readings while the host " +
                                     "refuses emits; dropped the " + std::to_string(drop) +
                                     " oldest");
  }
  arm(vin, b);
}

bool StreamBatcher::emit(const std::string& vin, std::vector<SignalReading>& readings) {
  const ConnHandle conn = lookup_(vin);
  if (!conn) {
    host_.count("stream_readings_dropped", readings.size());
    host_.log(OEMLINK_LOG_WARN, "tesla: stream batch of " + vin + " has no open connection; " +
                                    std::to_string(readings.size()) + " readings dropped");
    readings.clear();
    return true;
  }
  const auto abi = to_abi(readings);
  const oemlink_status st = host_.emit(conn, abi);
  if (st == OEMLINK_RETRY) {
    host_.count("stream_emit_retries");
    return false;
  }
  host_.count(st == OEMLINK_OK ? "stream_events" : "stream_events_partly_rejected");
  host_.count("stream_readings", readings.size());
  readings.clear();
  return true;
}

void StreamBatcher::on_timer(const std::string& vin) {
  std::vector<SignalReading> readings;
  {
    std::lock_guard lock(mu_);
    auto it = batches_.find(vin);
    if (it == batches_.end()) return;
    readings.swap(it->second.readings);
    it->second.timer = 0;
  }
  // Emitted outside the lock: the host may take its time, and messages keep arriving.
  if (emit(vin, readings)) {
    std::lock_guard lock(mu_);
    auto it = batches_.find(vin);
    if (it != batches_.end() && it->second.readings.empty() && !it->second.timer)
      batches_.erase(it);
    return;
  }
  std::lock_guard lock(mu_);
  Batch& b = batches_[vin];
  // Kept in order: the refused (older) readings first, then what arrived meanwhile.
  readings.insert(readings.end(), std::make_move_iterator(b.readings.begin()),
                  std::make_move_iterator(b.readings.end()));
  b.readings.swap(readings);
  arm(vin, b);
}

void StreamBatcher::flush(const std::string& vin) {
  std::vector<SignalReading> readings;
  uint64_t timer = 0;
  {
    std::lock_guard lock(mu_);
    auto it = batches_.find(vin);
    if (it == batches_.end()) return;
    readings.swap(it->second.readings);
    timer = it->second.timer;
    batches_.erase(it);
  }
  // Outside the lock: a host may run (or wait for) the timer's callback while cancelling.
  if (timer) host_.cancel_timer(timer);
  if (!readings.empty() && !emit(vin, readings)) {
    host_.count("stream_readings_dropped", readings.size());
    host_.log(OEMLINK_LOG_WARN, "tesla: host refused the last stream batch of " + vin +
                                    " at close; " + std::to_string(readings.size()) +
                                    " readings dropped");
  }
}

void StreamBatcher::flush_all() {
  std::vector<std::string> vins;
  {
    std::lock_guard lock(mu_);
    for (auto& [vin, b] : batches_) vins.push_back(vin);
  }
  for (const auto& v : vins) flush(v);
}

}  // namespace oemlink::tesla
