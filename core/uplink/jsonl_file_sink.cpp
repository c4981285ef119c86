#include "core/uplink/jsonl_file_sink.hpp"
#include "core/common/private_files.hpp"
#include "core/common/wall_clock.hpp"

#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <sys/stat.h>
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

int sync_fd(int fd, bool directory) {
  return directory ? ::fsync(fd) : ::fdatasync(fd);
}

JsonLinesFileSink::JsonLinesFileSink(std::string name, const config::FileSinkConfig& cfg,
                                     MetricsRegistry& metrics, SyncFunction sync)
    : name_(std::move(name)),
      cfg_(cfg),
      sync_fn_(std::move(sync)),
      error_log_(10, metrics),
      written_(metrics.counter("oemlink_file_sink_events_written_total",
                               "Events a file sink wrote and synced", {{"sink", name_}})),
      failed_(metrics.counter("oemlink_file_sink_write_failures_total",
                              "Writes or syncs a file sink failed", {{"sink", name_}})),
      rotations_(metrics.counter("oemlink_file_sink_rotations_total", "Files a file sink rotated",
                                 {{"sink", name_}})) {
  open();
  next_rotation_at_ = cfg_.rotate_bytes;
}

JsonLinesFileSink::~JsonLinesFileSink() {
  if (file_) std::fclose(file_);
}

void JsonLinesFileSink::open() {
  const std::string where = "sink " + name_ + ": cannot open " + cfg_.path.string() + ": ";
  try {
    create_private_parent_dirs(cfg_.path);
  } catch (const FileError& e) {
    throw std::runtime_error(where + e.what());
  }
  const int fd = ::open(cfg_.path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) throw std::runtime_error(where + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
    // A file an older version created under the umask is narrowed too.
    if ((st.st_mode & 077) != 0 && st.st_uid == ::geteuid()) (void)::fchmod(fd, 0600);
    size_ = static_cast<uint64_t>(st.st_size);
  } else {
    size_ = 0;
  }
  file_ = ::fdopen(fd, "ab");
  if (!file_) {
    const int err = errno;
    ::close(fd);
    throw std::runtime_error(where + std::strerror(err));
  }
  static constexpr size_t kBuffer = 1 << 20;
  std::setvbuf(file_, nullptr, _IOFBF, kBuffer);
  dir_synced_ = sync_dir();
}

bool JsonLinesFileSink::sync_dir() {
  fs::path dir = cfg_.path.parent_path();
  if (dir.empty()) dir = ".";
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int err = fd < 0 ? errno : 0;
  if (fd >= 0) {
    if (sync_fn_(fd, true) != 0) err = errno;
    ::close(fd);
  }
  // Some filesystems cannot sync a directory at all; waiting for them would stop the sink.
  if (err == 0 || err == EINVAL) return true;
  failed_.add();
  error_log_.log(wall_ms(), spdlog::level::err, LogFields{.sink = name_},
                 "sink {}: syncing directory {} failed: {}; lines of {} are not confirmed", name_,
                 dir.string(), std::strerror(err), cfg_.path.string());
  return false;
}

bool JsonLinesFileSink::sync_old_file() {
  if (std::fflush(file_) == 0 && sync_fn_(fileno(file_), false) == 0) return true;
  const int err = errno;
  std::clearerr(file_);
  count_sync_failure();
  spdlog::error(
      "sink {}: syncing {} before rotating it failed ({}); not rotated, appending to it "
      "until {} more bytes",
      name_, cfg_.path.string(), std::strerror(err), cfg_.rotate_bytes);
  return false;
}

void JsonLinesFileSink::count_sync_failure() {
  ++sync_failures_;
  failed_.add();
}

// Shifts path -> path.1 -> ... -> path.N. Any failed step aborts the rotation and appending
// continues in the current file: a rename error must never overwrite an older file, and a
// rotation that cannot happen must not be retried on every single write.
bool JsonLinesFileSink::rotate() {
  // Once renamed, the old file is never synced again: its lines must be on disk first.
  if (!sync_old_file()) {
    next_rotation_at_ = size_ + cfg_.rotate_bytes;
    return true;
  }
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
  // open() syncs the directory again after creating the new file; this one makes the renames
  // durable even if that open fails.
  sync_dir();
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
      error_log_.log(wall_ms(), spdlog::level::err, LogFields{.sink = name_}, "{}", e.what());
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
    error_log_.log(wall_ms(), spdlog::level::err, LogFields{.sink = name_},
                   "sink {}: write to {} failed: {}", name_, cfg_.path.string(),
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
  if (std::fflush(file_) != 0 || sync_fn_(fileno(file_), false) != 0) {
    const int err = errno;
    count_sync_failure();
    std::clearerr(file_);
    error_log_.log(wall_ms(), spdlog::level::err, LogFields{.sink = name_},
                   "sink {}: syncing {} failed: {}", name_, cfg_.path.string(), std::strerror(err));
    return false;
  }
  if (!dir_synced_) dir_synced_ = sync_dir();
  return dir_synced_;
}

int JsonLinesFileSink::flush_and_dup() {
  if (!file_) return -1;
  if (std::fflush(file_) != 0) {
    failed_.add();
    std::clearerr(file_);
    return -1;
  }
  // A line synced into a file whose directory entry is not durable can still vanish.
  if (!dir_synced_ && !(dir_synced_ = sync_dir())) return -1;
  return ::dup(fileno(file_));
}

void JsonLinesFileSink::flush() {
  if (file_ && std::fflush(file_) != 0) {
    // Buffered lines that fail here were already reported as written: count the failure so
    // the operator sees it, and say so.
    failed_.add();
    error_log_.log(wall_ms(), spdlog::level::err, LogFields{.sink = name_},
                   "sink {}: flush of {} failed: {}; buffered events may be lost", name_,
                   cfg_.path.string(), std::strerror(errno));
    std::clearerr(file_);
  }
}

}  // namespace oemlink::uplink
