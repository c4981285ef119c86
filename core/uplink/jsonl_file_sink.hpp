// JSON Lines file sink: one CloudEvent per line, rotated by size (path, path.1, ... path.N).
// Buffered for throughput. FileDeliverer makes lines durable with flush_and_dup() and a group
// fdatasync; nothing flushes it on a timer.
#pragma once

#include "core/common/metrics.hpp"
#include "core/common/rate_limited_log.hpp"
#include "core/config/config.hpp"
#include "core/pipeline/event_sink.hpp"

#include <cstdio>
#include <filesystem>
#include <string>

namespace oemlink::uplink {

class JsonLinesFileSink final : public pipeline::EventSink {
 public:
  // Creates parent directories and opens the file for appending; throws std::runtime_error
  // naming the path and the OS error on failure.
  JsonLinesFileSink(std::string name, const config::FileSinkConfig& cfg, MetricsRegistry& metrics);
  ~JsonLinesFileSink() override;

  std::string_view name() const override { return name_; }
  bool append(const pipeline::Event& event) override;
  // The EventSink interface's flush, for use as a pipeline sink (the load benchmark's baseline);
  // FileDeliverer never calls it.
  void flush() override;
  // Flushes and fdatasync()s: true when every appended line is on disk.
  bool sync();
  // Flushes to the kernel and returns a duplicate descriptor of the current file for a sync on
  // another thread (the caller closes it), or -1 on failure.
  int flush_and_dup();

 private:
  void open();
  bool rotate();

  std::string name_;
  config::FileSinkConfig cfg_;
  std::FILE* file_ = nullptr;
  uint64_t size_ = 0;
  uint64_t next_rotation_at_ = 0;  // rotate when size_ would pass this
  LogGate error_log_;
  Counter& written_;
  Counter& failed_;
  Counter& rotations_;
};

}  // namespace oemlink::uplink
