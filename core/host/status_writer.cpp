#include "core/host/status_writer.hpp"

#include <spdlog/spdlog.h>

namespace oemlink::host {

StatusWriter::StatusWriter(std::filesystem::path path, MetricsRegistry& metrics)
    : path_(std::move(path)),
      failures_(
          metrics.counter("oemlink_status_write_failures_total", "Failed writes of status.json")) {
  thread_ = std::thread([this] { run(); });
}

StatusWriter::~StatusWriter() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

void StatusWriter::submit(StatusSnapshot s) {
  {
    std::lock_guard lock(mu_);
    pending_ = std::move(s);
    pending_seq_ = ++next_seq_;
  }
  cv_.notify_one();
}

void StatusWriter::write_now(const StatusSnapshot& s) {
  uint64_t seq;
  {
    std::lock_guard lock(mu_);
    pending_.reset();  // older than this one
    seq = ++next_seq_;
  }
  write(s, seq);
}

void StatusWriter::run() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stopping_ || pending_; });
    if (stopping_) return;
    StatusSnapshot s = std::move(*pending_);
    uint64_t seq = pending_seq_;
    pending_.reset();
    lock.unlock();
    write(s, seq);
    lock.lock();
  }
}

void StatusWriter::write(const StatusSnapshot& s, uint64_t seq) {
  std::lock_guard lock(write_mu_);
  if (seq < written_seq_) return;  // a newer one is on disk already
  written_seq_ = seq;
  try {
    write_status_file(path_, s);
    if (failing_) spdlog::info("{} is written again", path_.string());
    failing_ = false;
  } catch (const std::exception& e) {
    // Counted every time, logged once per failure streak: a full disk shows in the sinks' own
    // errors too, and `oemlink status` then reads the last snapshot that made it.
    failures_.add();
    if (!failing_) spdlog::warn("cannot write the status file: {}", e.what());
    failing_ = true;
  }
}

}  // namespace oemlink::host
