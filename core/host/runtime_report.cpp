#include "core/host/runtime_report.hpp"

#include "core/common/data_dir.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

namespace oemlink::host {

void log_stats(const ReportSources& src, int64_t now_ms) {
  const auto& s = src.dispatcher.stats();
  MetricsRegistry& m = src.metrics;
  spdlog::info(
      "stats: polls ok={} retry={} error={}; events={}; readings accepted={} rejected={}; "
      "rate-limited={} asleep={}; connections={} stopped={}; in flight={}",
      m.total("oemlink_polls_total", {{"outcome", "ok"}}),
      m.total("oemlink_polls_total", {{"outcome", "retry"}}),
      m.total("oemlink_polls_total", {{"outcome", "error"}}),
      m.total("oemlink_pipeline_events_built_total"),
      m.total("oemlink_pipeline_readings_accepted_total"),
      m.total("oemlink_pipeline_readings_rejected_total"), s.rate_limited, s.asleep,
      src.connections, src.dispatcher.stopped_connections(), src.dispatcher.in_flight());
  store::OutboxStore* outbox = src.assembly.outbox();
  if (!outbox) return;
  store::OutboxStats o = outbox->stats();
  int64_t age_s = o.oldest_ms ? (now_ms - o.oldest_ms) / 1000 : 0;
  spdlog::info(
      "outbox: depth={} ({} KiB), oldest {} s; appended={} dropped={} refused={} "
      "corrupt={} dead letters={}",
      o.depth, o.bytes / 1024, age_s, o.appended, o.dropped, o.refused, o.corrupt, o.dead_letters);
  for (auto& [name, ds] : src.assembly.sink_stats()) {
    spdlog::info(
        "sink {}: delivered={} retried={} dead-lettered={} in flight={} pending={}; "
        "append to acknowledgement p50 {} ms, p99 {} ms",
        name, ds.delivered, ds.retried, ds.dead_lettered, ds.in_flight, ds.pending,
        ds.latency_p50_ms, ds.latency_p99_ms);
  }
}

StatusSnapshot status_snapshot(const ReportSources& src, bool running, int64_t now_ms) {
  StatusSnapshot st;
  st.pid = static_cast<int64_t>(getpid());
  st.running = running;
  st.updated_ms = now_ms;
  st.connections = src.connections;
  for (auto& [key, value] : src.metrics.snapshot()) st.metrics[key] = value;
  if (store::OutboxStore* outbox = src.assembly.outbox()) {
    store::OutboxStats o = outbox->stats();
    st.outbox = OutboxSnapshot{.depth = o.depth,
                               .bytes = o.bytes,
                               .oldest_ms = o.oldest_ms,
                               .appended = o.appended,
                               .dropped = o.dropped,
                               .refused = o.refused,
                               .corrupt = o.corrupt,
                               .dead_letters = o.dead_letters,
                               .durable_seq = o.durable_seq};
    store::OutboxCommitHealth h = outbox->commit_health();
    st.outbox->commit_failing = h.failing;
    st.outbox->commit_failures = h.consecutive_failures;
    st.outbox->commit_error = std::move(h.last_error);
  }
  for (auto& [name, ds] : src.assembly.sink_stats()) {
    st.sinks.push_back(SinkSnapshot{.name = name,
                                    .delivered = ds.delivered,
                                    .retried = ds.retried,
                                    .dead_lettered = ds.dead_lettered,
                                    .in_flight = ds.in_flight,
                                    .pending = ds.pending,
                                    .latency_p50_ms = ds.latency_p50_ms,
                                    .latency_p99_ms = ds.latency_p99_ms});
  }
  return st;
}

}  // namespace oemlink::host
