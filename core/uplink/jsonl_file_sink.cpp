#include "core/uplink/jsonl_file_sink.hpp"
#include "core/common/wall_clock.hpp"

#include <spdlog/spdlog.h>

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>

namespace oemlink::uplink {

namespace fs = std::filesystem;

namespace {
int64_t wall_ms() {
  return unix_ms();
}
}  // namespace

JsonLinesFileSink::JsonLinesFileSink(std::string name, const config::FileSinkConfig& cfg,
                                     MetricsRegistry& metrics)
    : name_(std::move(name)),
      cfg_(cfg),
      written_(metrics.counter("sink_" + name_ + "_events_written")),
      failed_(metrics.counter("sink_" + name_ + "_write_failures")),
      rotations_(metrics.counter("sink_" + name_ + "_rotations")) {
  open();
  next_rotation_at_ = cfg_.rotate_bytes;
}

JsonLinesFileSink::~JsonLinesFileSink() {
  if (file_) std::fclose(file_);
}

void JsonLinesFileSink::open() {
  std::error_code ec;
  if (cfg_.path.has_parent_path()) fs::create_directories(cfg_.path.parent_path(), ec);
  file_ = std::fopen(cfg_.path.c_str(), "ab");
  if (!file_) {
    throw std::runtime_error("sink " + name_ + ": cannot open " + cfg_.path.string() + ": " +
                             std::strerror(errno));
  }
  static constexpr size_t kBuffer = 1 << 20;
  std::setvbuf(file_, nullptr, _IOFBF, kBuffer);
  size_ = fs::file_size(cfg_.path, ec);
  if (ec) size_ = 0;
}

// Shifts path -> path.1 -> ... -> path.N. Any failed step aborts the rotation and appending
// continues in the current file: a rename error must never overwrite an older file, and a
// rotation that cannot happen must not be retried on every single write.
bool JsonLinesFileSink::rotate() {
  if (file_) std::fclose(file_);
  file_ = nullptr;
  std::error_code ec;
  std::string base = cfg_.path.string();
  auto numbered = [&](uint32_t i) { return base + "." + std::to_string(i); };
  bool ok = true;
  if (cfg_.keep_files == 0) {
    fs::remove(cfg_.path, ec);
    ok = !ec;
  } else {
    fs::remove(numbered(cfg_.keep_files), ec);
    for (uint32_t i = cfg_.keep_files; ok && i > 1; --i) {
      if (!fs::exists(numbered(i - 1))) continue;
      fs::rename(numbered(i - 1), numbered(i), ec);
      ok = !ec;
    }
    if (ok) {
      fs::rename(cfg_.path, numbered(1), ec);
      ok = !ec;
    }
  }
  if (!ok) {
    spdlog::error("sink {}: rotating {} failed ({}); appending to it until {} more bytes", name_,
                  base, ec.message(), cfg_.rotate_bytes);
    failed_.add();
  }
  try {
    open();
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return false;
  }
  if (ok) rotations_.add();
  next_rotation_at_ = size_ + cfg_.rotate_bytes;
  return true;
}

bool JsonLinesFileSink::append(const pipeline::Event& event) {
  if (!file_) {
    // A reopen failed earlier (EMFILE, ENOSPC...): try again, but never rotate a file we do
    // not hold.
    try {
      open();
      next_rotation_at_ = size_ + cfg_.rotate_bytes;
    } catch (const std::exception& e) {
      uint64_t suppressed = 0;
      if (error_log_.allow(wall_ms(), suppressed)) spdlog::error("{}", e.what());
      failed_.add();
      return false;
    }
  }
  uint64_t line = event.json.size() + 1;
  if (cfg_.rotate_bytes && size_ > 0 && size_ + line > next_rotation_at_ && !rotate()) {
    failed_.add();
    return false;
  }
  // One write of the whole line; on a short write, cut the file back so a retried event never
  // lands glued to half a line.
  if (std::fwrite(event.json.data(), 1, event.json.size(), file_) != event.json.size() ||
      std::fputc('\n', file_) == EOF) {
    int err = errno;
    std::clearerr(file_);
    std::fflush(file_);
    if (ftruncate(fileno(file_), static_cast<off_t>(size_)) != 0) {
      // The partial line stays; the next successful write starts on a fresh line.
      std::fputc('\n', file_);
    }
    uint64_t suppressed = 0;
    if (error_log_.allow(wall_ms(), suppressed))
      spdlog::error("sink {}: write to {} failed: {}", name_, cfg_.path.string(),
                    std::strerror(err));
    failed_.add();
    return false;
  }
  size_ += line;
  written_.add();
  return true;
}

bool JsonLinesFileSink::sync() {
  if (!file_) return false;
  if (std::fflush(file_) != 0 || fdatasync(fileno(file_)) != 0) {
    failed_.add();
    std::clearerr(file_);
    uint64_t suppressed = 0;
    if (error_log_.allow(wall_ms(), suppressed))
      spdlog::error("sink {}: syncing {} failed: {}", name_, cfg_.path.string(),
                    std::strerror(errno));
    return false;
  }
  return true;
}

int JsonLinesFileSink::flush_and_dup() {
  if (!file_) return -1;
  if (std::fflush(file_) != 0) {
    failed_.add();
    std::clearerr(file_);
    return -1;
  }
  return ::dup(fileno(file_));
}

void JsonLinesFileSink::flush() {
  if (file_ && std::fflush(file_) != 0) {
    // Buffered lines that fail here were already reported as written: count the failure so
    // the operator sees it, and say so.
    failed_.add();
    uint64_t suppressed = 0;
    if (error_log_.allow(wall_ms(), suppressed))
      spdlog::error("sink {}: flush of {} failed: {}; buffered events may be lost", name_,
                    cfg_.path.string(), std::strerror(errno));
    std::clearerr(file_);
  }
}

}  // namespace oemlink::uplink
