// The one metrics registry of a process: counters, gauges and histograms on prometheus-cpp's core,
// shared by the host, the pipeline, the sinks, the listeners and drivers (through the ABI's
// counter_add). A metric is a family name plus labels; each (name, labels) exists once, is created
// on first use and never removed, so a reference stays valid for the registry's life and an
// increment is one atomic operation (prometheus-cpp's), with no lock of ours.
//
// Names follow Prometheus conventions and the registry enforces them (a wrong name is a
// programming error, thrown as std::invalid_argument naming it): `oemlink_` or `process_`
// prefix, counters end in `_total`, units are base units (`_seconds`, `_bytes`). Labels carry
// the driver instance, sink, listener, state, outcome, route or code, never a connection or a
// VIN (a million cars would be a million series). Every family is listed in
// core/common/README.md.
#pragma once

#include "core/common/metric_key.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace prometheus {
class Counter;
class Gauge;
class Histogram;
class Registry;
}  // namespace prometheus

namespace oemlink {

// [any-thread] A monotonic count. Values are exact up to 2^53.
class Counter {
 public:
  explicit Counter(prometheus::Counter& c) : c_(&c) {}
  void add(uint64_t n = 1);
  uint64_t value() const;
  // For scrape-time mirrors of a value that only grows elsewhere (CPU seconds): raises the
  // counter to `v`; a smaller `v` is ignored, so the counter never goes down.
  void raise_to(double v);

 private:
  prometheus::Counter* c_;
};

// [any-thread] A value that goes up and down.
class Gauge {
 public:
  explicit Gauge(prometheus::Gauge& g) : g_(&g) {}
  void set(double v);
  void add(double v);
  double value() const;

 private:
  prometheus::Gauge* g_;
};

// [any-thread] Observations into fixed buckets (prometheus-cpp takes a mutex per observation).
class Histogram {
 public:
  explicit Histogram(prometheus::Histogram& h) : h_(&h) {}
  void observe(double v);

 private:
  prometheus::Histogram* h_;
};

class MetricsRegistry;

// Keeps a scrape-time collector registered; unregisters it when destroyed (so a collector never
// outlives what it reads).
class CollectorRegistration {
 public:
  CollectorRegistration() = default;
  CollectorRegistration(CollectorRegistration&& o) noexcept { *this = std::move(o); }
  CollectorRegistration& operator=(CollectorRegistration&& o) noexcept;
  ~CollectorRegistration() { reset(); }
  void reset();

 private:
  friend class MetricsRegistry;
  CollectorRegistration(MetricsRegistry* r, uint64_t id) : registry_(r), id_(id) {}
  MetricsRegistry* registry_ = nullptr;
  uint64_t id_ = 0;
};

class MetricsRegistry {
 public:
  MetricsRegistry();
  ~MetricsRegistry();
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  // [any-thread] Find or create. `help` is the family's description (the first caller's wins).
  // Throws std::invalid_argument on a name or label name that breaks the conventions above, or a
  // family asked for as two types.
  Counter& counter(std::string_view name, std::string_view help, const MetricLabels& labels = {});
  Gauge& gauge(std::string_view name, std::string_view help, const MetricLabels& labels = {});
  // `buckets` are upper bounds, ascending (+Inf is implicit); the first caller's apply.
  Histogram& histogram(std::string_view name, std::string_view help,
                       const std::vector<double>& buckets, const MetricLabels& labels = {});

  // [loop] Registers `fn`, called at each exposition() and snapshot() before the values are
  // read, to set gauges (or raise counters) from what is cheaper to read when scraped (outbox
  // depth, connections by state, process figures). Keep the returned handle as long as `fn`'s
  // captures live.
  [[nodiscard]] CollectorRegistration add_collector(std::function<void()> fn);

  // [loop] The Prometheus text exposition format (0.0.4) of every metric, for GET /metrics.
  std::string exposition() const;

  // [loop] Every series as metric_key(name, labels) → value, sorted; a histogram gives its
  // `_count` and `_sum` series. What status.json, `oemlink status` and the stats lines read.
  std::vector<std::pair<std::string, double>> snapshot() const;

  // [any-thread] The sum of the counter or gauge family `name` over the series whose labels
  // include `match` (all of them for {}); 0 when none exists. Creates nothing.
  double total(std::string_view name, const MetricLabels& match = {}) const;

 private:
  friend class CollectorRegistration;
  struct Family;
  Family& family(std::string_view name, std::string_view help, int kind, const MetricLabels& labels,
                 const std::vector<double>* buckets);
  void run_collectors() const;
  void remove_collector(uint64_t id);

  std::shared_ptr<prometheus::Registry> registry_;
  mutable std::mutex mu_;  // guards the maps below (creation and lookup, never an increment)
  std::map<std::string, std::unique_ptr<Family>, std::less<>> families_;
  std::map<std::string, std::unique_ptr<Counter>, std::less<>> counters_;  // by metric_key
  std::map<std::string, std::unique_ptr<Gauge>, std::less<>> gauges_;
  std::map<std::string, std::unique_ptr<Histogram>, std::less<>> histograms_;
  mutable std::mutex collectors_mu_;
  uint64_t next_collector_ = 1;
  std::map<uint64_t, std::function<void()>> collectors_;
};

}  // namespace oemlink
