// StatusWriter: writes status.json on a thread of its own. A durable write is an fsync of the
// file and of the directory, which can take hundreds of milliseconds while the outbox is
// committing; on the event loop that stall would show up in every poll and delivery. The loop
// only hands over a snapshot; if the writer is still busy, the newest snapshot replaces the
// waiting one (status is a gauge, not a log).
//
// Threading: submit() and write_now() from the loop; the writer thread does the I/O.
#pragma once

#include "core/common/metrics.hpp"
#include "core/host/status_snapshot.hpp"

#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <optional>
#include <thread>

namespace oemlink::host {

class StatusWriter {
 public:
  StatusWriter(std::filesystem::path path, MetricsRegistry& metrics);
  ~StatusWriter();  // finishes a write in progress, drops one still waiting
  StatusWriter(const StatusWriter&) = delete;
  StatusWriter& operator=(const StatusWriter&) = delete;

  // Queues `s` for the writer thread; never blocks on I/O.
  void submit(StatusSnapshot s);
  // Writes `s` on the caller's thread after any write in progress (the last one, at shutdown).
  void write_now(const StatusSnapshot& s);

 private:
  void run();
  void write(const StatusSnapshot& s, uint64_t seq);

  std::filesystem::path path_;
  Counter& failures_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::optional<StatusSnapshot> pending_;
  uint64_t pending_seq_ = 0;
  uint64_t next_seq_ = 0;  // order of hand-over: an older snapshot never overwrites a newer one
  bool stopping_ = false;
  std::mutex write_mu_;  // one write at a time, whichever thread
  bool failing_ = false;
  uint64_t written_seq_ = 0;
  std::thread thread_;
};

}  // namespace oemlink::host
