#include "core/host/data_dir_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include <spdlog/spdlog.h>

#include "core/common/private_files.hpp"

namespace oemlink::host {
namespace {

namespace fs = std::filesystem;

// A data dir created by an older oemlink (or by hand) may be open to others; the daemon that owns
// it makes it private. Files inside were always created 0600 except the file sink's, which
// re-tightens its own files when it opens them.
void keep_private(const fs::path& root) {
  struct stat st {};
  if (::stat(root.c_str(), &st) != 0 || (st.st_mode & 077) == 0 || st.st_uid != ::geteuid()) return;
  if (::chmod(root.c_str(), 0700) == 0) {
    spdlog::warn("data dir {} was {}, readable by other users; made it 0700", root.string(),
                 mode_string(st.st_mode));
  } else {
    spdlog::warn("data dir {} is {}, readable by other users, and cannot be made 0700: {}",
                 root.string(), mode_string(st.st_mode), std::strerror(errno));
  }
}

// The holder writes "<pid>\n" in one pwrite just after taking the lock, so a reader may come
// between the flock and the write (an empty file) or, in principle, see part of it. Only a line
// with its newline is taken; anything else is read again for a moment before giving up (0).
pid_t read_pid(int fd) {
  constexpr int kAttempts = 100;  // 100 x 2 ms: far longer than one pwrite takes
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    char buf[32] = {};
    const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
    if (n > 0) {
      if (const char* nl =
              static_cast<const char*>(std::memchr(buf, '\n', static_cast<size_t>(n)))) {
        char* end = nullptr;
        const long pid = std::strtol(buf, &end, 10);
        if (end == nl && pid > 0) return static_cast<pid_t>(pid);
        return 0;  // not a pid: another program's file, or a damaged one
      }
    } else if (n < 0) {
      return 0;
    }
    ::usleep(2'000);
  }
  return 0;
}

int open_lock_file(const DataDir& dir) {
  try {
    create_private_parent_dirs(dir.lock_file());  // the data dir and its missing parents, 0700
  } catch (const FileError& e) {
    throw std::runtime_error(std::string("cannot create data dir: ") + e.what());
  }
  keep_private(dir.root());
  int fd = ::open(dir.lock_file().c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0)
    throw std::runtime_error("cannot open lock file " + dir.lock_file().string() + ": " +
                             std::strerror(errno));
  ::fchmod(fd, 0600);  // whatever the umask
  return fd;
}

}  // namespace

DataDirLock::DataDirLock(const DataDir& dir, const std::string& what) {
  fd_ = open_lock_file(dir);
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    pid_t pid = read_pid(fd_);
    ::close(fd_);
    fd_ = -1;
    if (err == EWOULDBLOCK)
      throw DataDirBusy(
          (what.empty() ? std::string() : what + ": ") + "data dir " + dir.root().string() +
              " is in use by " + (pid ? "oemlink pid " + std::to_string(pid) : "another process") +
              " (" + dir.lock_file().string() + "); one daemon per data dir, stop it first",
          pid);
    throw std::runtime_error("cannot lock " + dir.lock_file().string() + ": " + std::strerror(err));
  }
  // One pwrite of the whole line over whatever was there, then cut to its length: a reader
  // never sees the file empty (as it would between a truncate and a write) and always finds our
  // line first, whole. A longer leftover after it is gone once ftruncate returns; the reader
  // stops at the first newline meanwhile.
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::pwrite(fd_, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size()) ||
      ::ftruncate(fd_, static_cast<off_t>(pid.size())) != 0) {
    // The lock itself is what matters; a missing pid only makes the refusal less helpful.
  }
}

DataDirLock::~DataDirLock() {
  if (fd_ >= 0) ::close(fd_);  // releases the flock
}

pid_t DataDirLock::holder(const DataDir& dir) {
  int fd = ::open(dir.lock_file().c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  pid_t pid = 0;
  if (::flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK) pid = read_pid(fd);
  ::close(fd);  // a shared probe that succeeded is released at once
  return pid;
}

}  // namespace oemlink::host
