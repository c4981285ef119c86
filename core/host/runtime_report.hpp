// What the running host tells operators about itself: the periodic stats lines in the log and
// status.json in the data dir (read by `oemlink status` and `oemlink deadletter`).
#pragma once

#include "core/common/metrics.hpp"
#include "core/host/pipeline_assembly.hpp"
#include "core/host/poll_dispatcher.hpp"
#include "core/host/status_snapshot.hpp"

#include <filesystem>

namespace oemlink::host {

struct ReportSources {
  MetricsRegistry& metrics;
  PollDispatcher& dispatcher;
  PipelineAssembly& assembly;
  size_t connections;
};

// Logs the poll, pipeline, outbox and per-sink figures.
void log_stats(const ReportSources& src, int64_t now_ms);

// What status.json says now (host::write_status_file writes it).
StatusSnapshot status_snapshot(const ReportSources& src, bool running, int64_t now_ms);

}  // namespace oemlink::host
