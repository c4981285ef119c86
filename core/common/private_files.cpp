#include "core/common/private_files.hpp"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>
#include <vector>

namespace oemlink {
namespace {

namespace fs = std::filesystem;

[[noreturn]] void fail(const std::string& what, const fs::path& path, int err) {
  throw FileError(what + " " + path.string() + ": " + std::strerror(err));
}

struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

void write_all(int fd, std::span<const uint8_t> data, const fs::path& path) {
  size_t put = 0;
  while (put < data.size()) {
    const ssize_t n = ::write(fd, data.data() + put, data.size() - put);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail("cannot write", path, n < 0 ? errno : EIO);
    put += static_cast<size_t>(n);
  }
}

// Moves `tmp` to `file` unless `file` exists; false if it does.
bool publish_no_replace(const fs::path& tmp, const fs::path& file) {
  if (::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, file.c_str(), RENAME_NOREPLACE) == 0) {
    return true;
  }
  if (errno == EEXIST) return false;
  if (errno != EINVAL && errno != ENOSYS) fail("cannot create", file, errno);
  // Filesystems without RENAME_NOREPLACE: link() refuses an existing name too.
  if (::link(tmp.c_str(), file.c_str()) == 0) {
    ::unlink(tmp.c_str());
    return true;
  }
  if (errno == EEXIST) return false;
  fail("cannot create", file, errno);
}

}  // namespace

void create_private_parent_dirs(const fs::path& file) {
  std::vector<fs::path> missing;
  for (fs::path dir = file.parent_path(); !dir.empty(); dir = dir.parent_path()) {
    std::error_code ec;
    if (fs::exists(dir, ec)) break;
    missing.push_back(dir);
    if (dir == dir.parent_path()) break;
  }
  for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
    if (mkdir(it->c_str(), 0700) != 0 && errno != EEXIST) {
      fail("cannot create directory", *it, errno);
    }
  }
}

void create_private_file(const fs::path& file) {
  create_private_parent_dirs(file);
  const int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) fail("cannot create", file, errno);
  ::close(fd);
}

void sync_parent_dir(const fs::path& file) {
  fs::path dir = file.parent_path();
  if (dir.empty()) dir = ".";
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  (void)fsync(fd);
  ::close(fd);
}

bool write_private_file(const fs::path& file, std::span<const uint8_t> content,
                        IfExists if_exists) {
  create_private_parent_dirs(file);
  std::string tmpl = file.string() + ".tmp-XXXXXX";
  Fd f{::mkstemp(tmpl.data())};  // mode 0600
  if (f.fd < 0) fail("cannot create a temporary file next to", file, errno);
  const fs::path tmp = tmpl;
  try {
    write_all(f.fd, content, tmp);
    // The move must not become visible before the contents are on disk.
    if (fsync(f.fd) != 0) fail("cannot fsync", tmp, errno);
    if (::close(std::exchange(f.fd, -1)) != 0) fail("cannot close", tmp, errno);
    bool written = true;
    if (if_exists == IfExists::replace) {
      if (::rename(tmp.c_str(), file.c_str()) != 0) fail("cannot replace", file, errno);
    } else {
      written = publish_no_replace(tmp, file);
    }
    ::unlink(tmp.c_str());  // a no-op after a successful move
    if (written) sync_parent_dir(file);
    return written;
  } catch (...) {
    ::unlink(tmp.c_str());
    throw;
  }
}

std::string mode_string(unsigned mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", mode & 07777u);
  return buf;
}

}  // namespace oemlink
