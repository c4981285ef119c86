// Ways for a test to make writes fail as on a full disk.
//
// FileSizeLimit: RLIMIT_FSIZE for this process (writes past it fail with EFBIG; SIGXFSZ is
// ignored meanwhile so the process is not killed), restored on destruction. Needs no privilege.
// SmallTmpfs: a tmpfs of a few MiB mounted on a fresh directory (root only; `skip_reason` says
// why not otherwise), unmounted and removed on destruction, and fill() to use up its space.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

namespace oemlink::testing {

class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    old_handler_ = ::signal(SIGXFSZ, SIG_IGN);
    ::getrlimit(RLIMIT_FSIZE, &old_);
    rlimit now = old_;
    now.rlim_cur = bytes;
    ::setrlimit(RLIMIT_FSIZE, &now);
  }
  ~FileSizeLimit() {
    ::setrlimit(RLIMIT_FSIZE, &old_);
    ::signal(SIGXFSZ, old_handler_);
  }
  FileSizeLimit(const FileSizeLimit&) = delete;
  FileSizeLimit& operator=(const FileSizeLimit&) = delete;

 private:
  rlimit old_{};
  sighandler_t old_handler_ = SIG_DFL;
};

class SmallTmpfs {
 public:
  explicit SmallTmpfs(const std::string& size = "4m") {
    if (::geteuid() != 0) {
      skip_reason = "mounting a tmpfs needs root";
      return;
    }
    std::string tmpl = (std::filesystem::temp_directory_path() / "oemlink-tmpfs-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) {
      skip_reason = std::string("mkdtemp: ") + std::strerror(errno);
      return;
    }
    path = tmpl;
    const std::string opts = "size=" + size + ",mode=0700";
    if (::mount("tmpfs", path.c_str(), "tmpfs", 0, opts.c_str()) != 0) {
      skip_reason = "mount -t tmpfs -o " + opts + " " + path.string() + ": " + std::strerror(errno);
      std::filesystem::remove(path);
      path.clear();
      return;
    }
    mounted_ = true;
  }
  ~SmallTmpfs() {
    if (mounted_) ::umount2(path.c_str(), MNT_DETACH);
    if (!path.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(path, ec);
    }
  }
  SmallTmpfs(const SmallTmpfs&) = delete;
  SmallTmpfs& operator=(const SmallTmpfs&) = delete;

  bool mounted() const { return mounted_; }

  // Writes `file` until the filesystem refuses (ENOSPC). Returns the bytes written.
  size_t fill(const std::filesystem::path& file) {
    const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) return 0;
    std::vector<char> block(4096, 'x');
    size_t total = 0;
    for (;;) {
      ssize_t n = ::write(fd, block.data(), block.size());
      if (n <= 0) break;
      total += static_cast<size_t>(n);
    }
    ::close(fd);
    return total;
  }

  std::filesystem::path path;
  std::string skip_reason;

 private:
  bool mounted_ = false;
};

}  // namespace oemlink::testing
