#include "core/host/data_dir_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace oemlink::host {
namespace {

namespace fs = std::filesystem;

pid_t read_pid(int fd) {
  char buf[32] = {};
  ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  if (n <= 0) return 0;
  return static_cast<pid_t>(std::strtol(buf, nullptr, 10));
}

int open_lock_file(const DataDir& dir) {
  std::error_code ec;
  if (!fs::exists(dir.root(), ec)) {
    fs::create_directories(dir.root(), ec);
    if (ec)
      throw std::runtime_error("cannot create data dir " + dir.root().string() + ": " +
                               ec.message());
    ::chmod(dir.root().c_str(), 0700);
  }
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
      throw DataDirBusy(what + ": data dir " + dir.root().string() + " is in use by " +
                            (pid ? "oemlink pid " + std::to_string(pid) : "another process") +
                            " (" + dir.lock_file().string() +
                            "); one daemon per data dir, stop it first",
                        pid);
    throw std::runtime_error("cannot lock " + dir.lock_file().string() + ": " +
                             std::strerror(err));
  }
  std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd_, 0) != 0 ||
      ::pwrite(fd_, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
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
