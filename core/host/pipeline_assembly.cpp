#include "core/host/pipeline_assembly.hpp"

#include "core/common/data_dir.hpp"
#include "core/common/secure_wipe.hpp"
#include "core/common/wall_clock.hpp"
#include "core/host/data_keys.hpp"
#include "core/host/driver_set.hpp"
#include "core/uplink/outbox_sink.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>

#include <algorithm>

namespace oemlink::host {

PipelineAssembly::PipelineAssembly(const config::Config& cfg, boost::asio::io_context& io,
                                   MetricsRegistry& metrics, const uplink::SinkRegistry& sinks,
                                   const std::vector<pipeline::EventSink*>& extra_sinks,
                                   net::ClockSkewEstimator* clock_skew, AssemblyHooks hooks)
    : hooks_(std::move(hooks)),
      io_(io),
      metrics_(metrics),
      registry_(sinks),
      http_(cfg.http),
      clock_skew_(clock_skew),
      has_extra_sinks_(!extra_sinks.empty()) {
  // Every event is signed: without a usable vault there is nothing worth sending.
  try {
    vault_ = open_configured_vault(cfg);
  } catch (const std::exception& e) {
    throw StartupError(std::string("key vault: ") + e.what());
  }
  signer_ = std::make_unique<VaultSigner>(*vault_);
  open_outbox_and_sinks(cfg);
  if (outbox_) register_outbox_metrics(metrics);

  std::vector<pipeline::EventSink*> sink_ptrs;
  if (outbox_sink_) sink_ptrs.push_back(outbox_sink_.get());
  for (auto* s : extra_sinks) sink_ptrs.push_back(s);
  if (sink_ptrs.empty())
    spdlog::warn("no sinks configured: events are built and counted, then discarded");
  pipeline::EnvelopeSettings envelope;
  envelope.chain_id = cfg.dimo.chain_id;
  envelope.vehicle_contract = cfg.dimo.vehicle_contract;
  envelope.synthetic_device_contract = cfg.dimo.synthetic_device_contract;
  envelope.source = cfg.dimo.source;
  pipeline_ = std::make_unique<pipeline::Pipeline>(
      pipeline::EventBuilder(std::move(envelope), signer_.get()), std::move(sink_ptrs), metrics);
  // Signing runs on its own thread; a settled batch is reported back to the loop.
  signing_ = std::make_unique<pipeline::SigningStage>(
      *pipeline_, [this, &io](uint32_t tag, uint64_t receipt) {
        boost::asio::post(io, [this, tag, receipt] { hooks_.settled(tag, receipt); });
      });
}

PipelineAssembly::~PipelineAssembly() = default;

// Read when scraped (OutboxStore::stats is one indexed query and a few loads under its lock):
// the outbox's own counters are mirrored into counters, its state into gauges.
void PipelineAssembly::register_outbox_metrics(MetricsRegistry& m) {
  Gauge& events =
      m.gauge("oemlink_outbox_events", "Events in the outbox not yet delivered by every sink");
  Gauge& bytes = m.gauge("oemlink_outbox_bytes", "Stored size of those events");
  Gauge& oldest = m.gauge("oemlink_outbox_oldest_age_seconds",
                          "Age of the oldest undelivered event (0 when empty)");
  Gauge& dead = m.gauge("oemlink_outbox_dead_letters", "Rows in the dead-letter table");
  Counter& appended = m.counter("oemlink_outbox_appended_total", "Events appended since start");
  Counter& dropped = m.counter("oemlink_outbox_dropped_total",
                               "Oldest events evicted by overflow: drop_oldest since start");
  Counter& refused =
      m.counter("oemlink_outbox_refused_total", "Appends refused by overflow: block since start");
  Counter& corrupt = m.counter("oemlink_outbox_corrupt_total",
                               "Records that failed to decrypt, moved aside since start");
  outbox_metrics_ = m.add_collector(
      [this, &events, &bytes, &oldest, &dead, &appended, &dropped, &refused, &corrupt] {
        store::OutboxStats s = outbox_->stats();
        events.set(static_cast<double>(s.depth));
        bytes.set(static_cast<double>(s.bytes));
        oldest.set(s.oldest_ms
                       ? static_cast<double>(std::max<int64_t>(0, unix_ms() - s.oldest_ms)) / 1000.0
                       : 0.0);
        dead.set(static_cast<double>(s.dead_letters));
        appended.raise_to(static_cast<double>(s.appended));
        dropped.raise_to(static_cast<double>(s.dropped));
        refused.raise_to(static_cast<double>(s.refused));
        corrupt.raise_to(static_cast<double>(s.corrupt));
      });
}

// Every event goes into the durable outbox first; each configured sink delivers from there at its
// own cursor, so a slow or failing sink holds back only itself (within the outbox's bound).
void PipelineAssembly::open_outbox_and_sinks(const config::Config& cfg) {
  if (cfg.sinks.empty()) return;
  try {
    LockedDataKey key = open_sealed_data_key(cfg, DataKeyPurpose::outbox);
    store::OutboxOptions o;
    o.path = DataDir(cfg.data_dir).outbox_db();
    o.max_bytes = cfg.outbox.max_bytes;
    o.max_records = cfg.outbox.max_records;
    o.full_policy = cfg.outbox.full_policy == config::OutboxConfig::FullPolicy::drop_oldest
                        ? store::FullPolicy::drop_oldest
                        : store::FullPolicy::block;
    o.max_commit_delay = cfg.outbox.commit_delay;
    for (const auto& s : cfg.sinks) o.sinks.push_back(s.name);
    outbox_ = std::make_unique<store::OutboxStore>(o, key.get(), [this](uint64_t seq) {
      boost::asio::post(io_, [this, seq] { hooks_.durable(seq); });
    });
  } catch (const std::exception& e) {
    throw StartupError(std::string("outbox: ") + e.what());
  }
  outbox_sink_ = std::make_unique<uplink::OutboxSink>(*outbox_);

  for (const config::SinkConfig& s : cfg.sinks) dispatchers_.push_back(make_dispatcher(s));
}

std::unique_ptr<uplink::UplinkDispatcher> PipelineAssembly::make_dispatcher(
    const config::SinkConfig& s) {
  uplink::SinkContext ctx{io_, metrics_, http_, clock_skew_};
  std::unique_ptr<uplink::EventDeliverer> d;
  try {
    d = registry_.make(s, ctx);
  } catch (const std::exception& e) {
    throw StartupError("sink " + s.name + " (" + s.position.file + ":" +
                       std::to_string(s.position.line) + "): " + e.what());
  }
  return std::make_unique<uplink::UplinkDispatcher>(io_, *outbox_, std::move(d), metrics_);
}

PipelineAssembly::SinkChanges PipelineAssembly::prepare_sinks(
    const std::vector<config::SinkConfig>& next, const std::vector<std::string>& added,
    const std::vector<std::string>& removed, const std::vector<std::string>& changed) {
  SinkChanges c;
  if (added.empty() && removed.empty() && changed.empty()) return c;
  if (!outbox_) throw StartupError("sinks: no outbox is open (the daemon started without sinks)");
  auto build = [&](const std::string& name) {
    for (const auto& s : next)
      if (s.name == name) return make_dispatcher(s);
    throw StartupError("internal: sink " + name + " is not in the new configuration");
  };
  for (const std::string& name : changed) c.changed.push_back(build(name));
  for (const std::string& name : added) c.added.push_back(build(name));
  c.removed = removed;
  return c;
}

void PipelineAssembly::apply_sinks(SinkChanges changes) {
  auto at = [&](std::string_view name) {
    return std::find_if(dispatchers_.begin(), dispatchers_.end(),
                        [&](const auto& d) { return d->name() == name; });
  };
  // Every output that goes away or changes stops (its acknowledgements written, its files
  // closed) before any new one starts: a changed or added file sink may take over a path that a
  // removed one wrote and rotated, and two writers must never rotate one file.
  for (const std::string& name : changes.removed) {
    auto it = at(name);
    if (it == dispatchers_.end()) continue;
    (*it)->stop();
    dispatchers_.erase(it);
  }
  std::vector<std::unique_ptr<uplink::UplinkDispatcher>*> restart;
  for (auto& fresh : changes.changed) {
    auto it = at(fresh->name());
    if (it == dispatchers_.end()) continue;  // not running: planned against another config
    (*it)->stop();  // its acknowledgements are written: the new one starts past them
    it->reset();
    *it = std::move(fresh);
    restart.push_back(&*it);
  }
  for (auto* d : restart) (*d)->start();
  for (auto& fresh : changes.added) {
    outbox_->add_sink(fresh->name());
    dispatchers_.push_back(std::move(fresh));
    dispatchers_.back()->start();
  }
  // After the additions: the outbox refuses to lose its last sink.
  for (const std::string& name : changes.removed) outbox_->remove_sink(name);
}

void PipelineAssembly::start_delivery() {
  for (auto& d : dispatchers_) d->start();
}

void PipelineAssembly::wake_delivery() {
  for (auto& d : dispatchers_) d->wake();
}

PipelineAssembly::Leftovers PipelineAssembly::drain_and_stop(
    std::chrono::steady_clock::time_point deadline) {
  using namespace std::chrono_literals;
  Leftovers left;
  signing_->stop_retrying();
  if (signing_->drain_until(deadline))
    pipeline_->flush();  // the worker may still hold the pipeline otherwise
  else
    left.batches_unsigned = signing_->abandon();
  // The writer gets a moment past the deadline to notice and let go of a failing commit.
  if (outbox_ && !outbox_->flush_until(deadline))
    left.outbox = outbox_->abandon(std::max(deadline, std::chrono::steady_clock::now()) + 500ms);
  for (auto& d : dispatchers_) d->stop();
  return left;
}

std::vector<std::pair<std::string, uplink::DispatcherStats>> PipelineAssembly::sink_stats() const {
  std::vector<std::pair<std::string, uplink::DispatcherStats>> out;
  for (auto& d : dispatchers_) out.emplace_back(std::string(d->name()), d->stats());
  return out;
}

void PipelineAssembly::reset_sink_latency() {
  for (auto& d : dispatchers_) d->reset_latency();
}

}  // namespace oemlink::host
