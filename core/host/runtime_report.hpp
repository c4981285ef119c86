// What the running host tells operators about itself: the periodic stats lines in the log and
// status.json in the data dir (read by `oemlink status` and `oemlink deadletter`).
#pragma once

#include "core/common/metrics.hpp"
#include "core/host/pipeline_assembly.hpp"
#include "core/host/poll_dispatcher.hpp"

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

// Writes status.json in `data_dir` atomically. Returns false (after logging why, rate-limited by
// the caller's period) when it could not.
bool write_status(const ReportSources& src, const std::filesystem::path& data_dir, bool running,
                  int64_t now_ms);

}  // namespace oemlink::host
