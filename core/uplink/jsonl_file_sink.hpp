// JSON Lines file sink: one CloudEvent per line, rotated by size (path, path.1, ... path.N).
// Buffered for throughput. FileDeliverer makes lines durable with flush_and_dup() and a group
// fdatasync; nothing flushes it on a timer.
//
// Files are 0600 and created directories 0700 whatever the umask (the lines hold VINs and
// locations). Rotation is durable: the old file is synced before it is renamed (if that fails it
// is not rotated), and the directory is synced after the renames and after creating the new
// file; until that directory sync succeeded, no line of the new file counts as synced.
// A failed sync bumps sync_failures(): lines written before it may be lost even when a later
// sync of the same file succeeds (the kernel reports a write-back error once).
#pragma once

#include "core/common/metrics.hpp"
#include "core/common/rate_limited_log.hpp"
#include "core/config/config.hpp"
#include "core/pipeline/event_sink.hpp"

#include <cstdio>
#include <filesystem>
#include <functional>
#include <string>

namespace oemlink::uplink {

// Makes `fd` durable: fdatasync for a file, fsync for a directory; 0 or -1 with errno. Tests
// inject failures through it.
using SyncFunction = std::function<int(int fd, bool directory)>;
int sync_fd(int fd, bool directory);

class JsonLinesFileSink final : public pipeline::EventSink {
 public:
  // Creates parent directories and opens the file for appending; throws std::runtime_error
  // naming the path and the OS error on failure.
  JsonLinesFileSink(std::string name, const config::FileSinkConfig& cfg, MetricsRegistry& metrics,
                    SyncFunction sync = sync_fd);
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
  // Failed syncs so far (this sink's own, and those reported through count_sync_failure()).
  uint64_t sync_failures() const { return sync_failures_; }
  // A sync of a flush_and_dup() descriptor failed elsewhere.
  void count_sync_failure();
  const SyncFunction& sync_function() const { return sync_fn_; }

 private:
  void open();
  bool rotate();
  bool sync_old_file();
  bool sync_dir();

  std::string name_;
  config::FileSinkConfig cfg_;
  std::FILE* file_ = nullptr;
  uint64_t size_ = 0;
  uint64_t next_rotation_at_ = 0;  // rotate when size_ would pass this
  SyncFunction sync_fn_;
  uint64_t sync_failures_ = 0;
  bool dir_synced_ = false;  // the current file's directory entry is durable
  LogGate error_log_;
  Counter& written_;
  Counter& failed_;
  Counter& rotations_;
};

}  // namespace oemlink::uplink
