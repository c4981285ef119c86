// Named monotonic counters shared by the host, the pipeline and drivers (through the ABI's
// counter_add). Counters are created once and never removed, so a reference stays valid for
// the registry's life and increments are a single relaxed atomic add.
#pragma once

#include <atomic>
#include <cctype>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace oemlink {

class Counter {
 public:
  void add(uint64_t n = 1) { v_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

class MetricsRegistry {
 public:
  // [any-thread] Finds or creates the counter `name`.
  Counter& counter(std::string_view name) {
    std::lock_guard lock(mu_);
    auto it = counters_.find(name);
    if (it == counters_.end())
      it = counters_.emplace(std::string(name), std::make_unique<Counter>()).first;
    return *it->second;
  }
  // [any-thread] Name/value pairs, sorted by name.
  std::vector<std::pair<std::string, uint64_t>> snapshot() const {
    std::lock_guard lock(mu_);
    std::vector<std::pair<std::string, uint64_t>> out;
    out.reserve(counters_.size());
    for (auto& [k, v] : counters_) out.emplace_back(k, v->value());
    return out;
  }
  // [loop] The Prometheus text exposition format (version 0.0.4) of every metric, for
  // GET /metrics. Interim: each counter as `oemlink_<name>_total`; issue 15 moves the registry
  // onto prometheus-cpp with labels, gauges and histograms.
  std::string exposition() const {
    std::string out;
    for (auto& [k, v] : snapshot()) {
      std::string name = "oemlink_";
      for (char c : k) name += (std::isalnum(static_cast<unsigned char>(c)) ? c : '_');
      name += "_total";
      out += "# TYPE " + name + " counter\n" + name + " " + std::to_string(v) + "\n";
    }
    return out;
  }

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<Counter>, std::less<>> counters_;
};

}  // namespace oemlink
