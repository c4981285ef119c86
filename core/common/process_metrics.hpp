// The standard process metrics (the names every Prometheus client library uses), read from
// /proc/self when scraped: process_cpu_seconds_total, process_resident_memory_bytes,
// process_virtual_memory_bytes, process_open_fds, process_max_fds, process_start_time_seconds.
#pragma once

#include "core/common/metrics.hpp"

#include <optional>
#include <string_view>

namespace oemlink {

struct ProcessFigures {
  double cpu_seconds = 0;  // user + system
  double resident_bytes = 0;
  double virtual_bytes = 0;
  double start_time_seconds = 0;  // Unix time
  double open_fds = 0;
  double max_fds = 0;  // the soft RLIMIT_NOFILE
};

// [any-thread] This process's figures now; nullopt when /proc is unreadable.
std::optional<ProcessFigures> read_process_figures();

// Parses /proc/<pid>/stat's text (the command may hold spaces and parentheses) with the clock
// tick, page size and the boot time (/proc/stat's btime); nullopt when malformed.
std::optional<ProcessFigures> parse_proc_stat(std::string_view stat, long ticks_per_second,
                                              long page_size, double boot_time_seconds);

// [loop] Registers the six families and a collector that refreshes them at each scrape.
[[nodiscard]] CollectorRegistration register_process_metrics(MetricsRegistry& metrics);

}  // namespace oemlink
