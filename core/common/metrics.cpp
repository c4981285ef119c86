#include "core/common/metrics.hpp"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <stdexcept>

namespace oemlink {
namespace {

enum Kind { kCounter, kGauge, kHistogram };
constexpr const char* kKindNames[] = {"counter", "gauge", "histogram"};

bool starts_with(std::string_view s, std::string_view p) {
  return s.substr(0, p.size()) == p;
}
bool ends_with(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && s.substr(s.size() - p.size()) == p;
}

bool is_snake_case(std::string_view s) {
  if (s.empty() || !(s[0] == '_' || (s[0] >= 'a' && s[0] <= 'z'))) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return c == '_' || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
  });
}

[[noreturn]] void refuse(std::string_view name, const std::string& why) {
  throw std::invalid_argument("metric " + std::string(name) + ": " + why);
}

void check_name(std::string_view name, Kind kind) {
  if (!is_snake_case(name)) refuse(name, "a name is lower-case [a-z0-9_]");
  if (!starts_with(name, "oemlink_") && !starts_with(name, "process_"))
    refuse(name, "a name starts with oemlink_ (or process_ for the standard process metrics)");
  if ((kind == kCounter) != ends_with(name, "_total"))
    refuse(name, kind == kCounter ? "a counter's name ends in _total"
                                  : "only a counter's name ends in _total");
}

// Labels that would make one series per car: per-connection detail belongs to the admin API.
constexpr std::string_view kForbiddenLabels[] = {"connection", "connection_id", "vin", "vehicle",
                                                 "vehicle_id"};

void check_labels(std::string_view name, const MetricLabels& labels, Kind kind) {
  for (const auto& [k, v] : labels) {
    if (!is_snake_case(k) || starts_with(k, "__")) refuse(name, "bad label name '" + k + "'");
    if (std::find(std::begin(kForbiddenLabels), std::end(kForbiddenLabels), k) !=
        std::end(kForbiddenLabels))
      refuse(name, "label '" + k + "' would make a series per car");
    if (kind == kHistogram && k == "le") refuse(name, "'le' is the histogram's own label");
  }
}

}  // namespace

struct MetricsRegistry::Family {
  Kind kind;
  void* family;  // prometheus::Family<Counter|Gauge|Histogram>*, owned by registry_
  std::vector<double> buckets;
};

void Counter::add(uint64_t n) {
  c_->Increment(static_cast<double>(n));
}
uint64_t Counter::value() const {
  return static_cast<uint64_t>(c_->Value());
}
void Counter::raise_to(double v) {
  double now = c_->Value();
  if (v > now) c_->Increment(v - now);
}

void Gauge::set(double v) {
  g_->Set(v);
}
void Gauge::add(double v) {
  g_->Increment(v);
}
double Gauge::value() const {
  return g_->Value();
}

void Histogram::observe(double v) {
  h_->Observe(v);
}

CollectorRegistration& CollectorRegistration::operator=(CollectorRegistration&& o) noexcept {
  if (this != &o) {
    reset();
    registry_ = std::exchange(o.registry_, nullptr);
    id_ = std::exchange(o.id_, 0);
  }
  return *this;
}

void CollectorRegistration::reset() {
  if (registry_) registry_->remove_collector(id_);
  registry_ = nullptr;
}

MetricsRegistry::MetricsRegistry() : registry_(std::make_shared<prometheus::Registry>()) {}
MetricsRegistry::~MetricsRegistry() = default;

MetricsRegistry::Family& MetricsRegistry::family(std::string_view name, std::string_view help,
                                                 int kind, const MetricLabels& labels,
                                                 const std::vector<double>* buckets) {
  const Kind k = static_cast<Kind>(kind);
  check_labels(name, labels, k);
  auto it = families_.find(name);
  if (it != families_.end()) {
    if (it->second->kind != k)
      refuse(name, std::string("already a ") + kKindNames[it->second->kind] + ", asked for as a " +
                       kKindNames[k]);
    return *it->second;
  }
  check_name(name, k);
  auto f = std::make_unique<Family>();
  f->kind = k;
  const std::string n(name), h(help);
  switch (k) {
    case kCounter:
      f->family = &prometheus::BuildCounter().Name(n).Help(h).Register(*registry_);
      break;
    case kGauge:
      f->family = &prometheus::BuildGauge().Name(n).Help(h).Register(*registry_);
      break;
    case kHistogram:
      if (!buckets || buckets->empty() || !std::is_sorted(buckets->begin(), buckets->end()))
        refuse(name, "a histogram needs ascending bucket bounds");
      f->buckets = *buckets;
      f->family = &prometheus::BuildHistogram().Name(n).Help(h).Register(*registry_);
      break;
  }
  return *families_.emplace(n, std::move(f)).first->second;
}

Counter& MetricsRegistry::counter(std::string_view name, std::string_view help,
                                  const MetricLabels& labels) {
  std::string key = metric_key(name, labels);
  std::lock_guard lock(mu_);
  if (auto it = counters_.find(key); it != counters_.end()) return *it->second;
  Family& f = family(name, help, kCounter, labels, nullptr);
  auto& c = static_cast<prometheus::Family<prometheus::Counter>*>(f.family)->Add(labels);
  return *counters_.emplace(std::move(key), std::make_unique<Counter>(c)).first->second;
}

Gauge& MetricsRegistry::gauge(std::string_view name, std::string_view help,
                              const MetricLabels& labels) {
  std::string key = metric_key(name, labels);
  std::lock_guard lock(mu_);
  if (auto it = gauges_.find(key); it != gauges_.end()) return *it->second;
  Family& f = family(name, help, kGauge, labels, nullptr);
  auto& g = static_cast<prometheus::Family<prometheus::Gauge>*>(f.family)->Add(labels);
  return *gauges_.emplace(std::move(key), std::make_unique<Gauge>(g)).first->second;
}

Histogram& MetricsRegistry::histogram(std::string_view name, std::string_view help,
                                      const std::vector<double>& buckets,
                                      const MetricLabels& labels) {
  std::string key = metric_key(name, labels);
  std::lock_guard lock(mu_);
  if (auto it = histograms_.find(key); it != histograms_.end()) return *it->second;
  Family& f = family(name, help, kHistogram, labels, &buckets);
  auto& h = static_cast<prometheus::Family<prometheus::Histogram>*>(f.family)->Add(
      labels, prometheus::Histogram::BucketBoundaries(f.buckets));
  return *histograms_.emplace(std::move(key), std::make_unique<Histogram>(h)).first->second;
}

CollectorRegistration MetricsRegistry::add_collector(std::function<void()> fn) {
  std::lock_guard lock(collectors_mu_);
  uint64_t id = next_collector_++;
  collectors_.emplace(id, std::move(fn));
  return CollectorRegistration(this, id);
}

void MetricsRegistry::remove_collector(uint64_t id) {
  std::lock_guard lock(collectors_mu_);
  collectors_.erase(id);
}

void MetricsRegistry::run_collectors() const {
  std::lock_guard lock(collectors_mu_);
  for (const auto& [id, fn] : collectors_) fn();
}

std::string MetricsRegistry::exposition() const {
  run_collectors();
  return prometheus::TextSerializer().Serialize(registry_->Collect());
}

std::vector<std::pair<std::string, double>> MetricsRegistry::snapshot() const {
  run_collectors();
  std::vector<std::pair<std::string, double>> out;
  for (const prometheus::MetricFamily& f : registry_->Collect()) {
    for (const prometheus::ClientMetric& m : f.metric) {
      MetricLabels labels;
      for (const auto& l : m.label) labels.emplace(l.name, l.value);
      switch (f.type) {
        case prometheus::MetricType::Counter:
          out.emplace_back(metric_key(f.name, labels), m.counter.value);
          break;
        case prometheus::MetricType::Gauge:
          out.emplace_back(metric_key(f.name, labels), m.gauge.value);
          break;
        case prometheus::MetricType::Histogram:
          out.emplace_back(metric_key(f.name + "_count", labels),
                           static_cast<double>(m.histogram.sample_count));
          out.emplace_back(metric_key(f.name + "_sum", labels), m.histogram.sample_sum);
          break;
        default:
          break;
      }
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

double MetricsRegistry::total(std::string_view name, const MetricLabels& match) const {
  auto matches = [&](const std::string& key) {
    if (!starts_with(key, name) || (key.size() > name.size() && key[name.size()] != '{'))
      return false;
    if (match.empty()) return true;
    auto parsed = parse_metric_key(key);
    if (!parsed) return false;
    for (const auto& [k, v] : match) {
      auto it = parsed->labels.find(k);
      if (it == parsed->labels.end() || it->second != v) return false;
    }
    return true;
  };
  std::lock_guard lock(mu_);
  double sum = 0;
  for (auto it = counters_.lower_bound(name); it != counters_.end() && starts_with(it->first, name);
       ++it)
    if (matches(it->first)) sum += static_cast<double>(it->second->value());
  for (auto it = gauges_.lower_bound(name); it != gauges_.end() && starts_with(it->first, name);
       ++it)
    if (matches(it->first)) sum += it->second->value();
  return sum;
}

}  // namespace oemlink
