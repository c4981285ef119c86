#include "core/config/file_text.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

namespace oemlink::config {
namespace {
// An error code of our own (errno values are positive).
constexpr int kNotAFile = -1;
}  // namespace

std::optional<std::string> read_text_file(const std::filesystem::path& path, int& error) {
  // stdio rather than iostreams: it keeps errno, and a directory fails with EISDIR on the first
  // read instead of reading as empty.
  // Opened without blocking and checked first: a FIFO would block the opener until some writer
  // comes (forever, for check-config); devices are read under the size cap below.
  int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    error = errno;
    return std::nullopt;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)) {
    error = ::fstat(fd, &st) != 0 ? errno : kNotAFile;
    ::close(fd);
    return std::nullopt;
  }
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  std::unique_ptr<FILE, int (*)(FILE*)> file(::fdopen(fd, "rb"), &std::fclose);
  if (!file) {
    error = errno;
    ::close(fd);
    return std::nullopt;
  }
  std::string content;
  char buffer[4096];
  size_t count = 0;
  while ((count = std::fread(buffer, 1, sizeof buffer, file.get())) > 0) {
    if (content.size() + count > kMaxTextFileBytes) {
      error = EFBIG;
      return std::nullopt;
    }
    content.append(buffer, count);
  }
  if (std::ferror(file.get())) {
    error = errno;
    return std::nullopt;
  }
  return content;
}

std::string read_error_text(int error) {
  if (error == kNotAFile) return "a FIFO or socket, not a file";
  if (error == EFBIG) return "larger than " + std::to_string(kMaxTextFileBytes >> 20) + " MiB";
  return std::strerror(error);
}

}  // namespace oemlink::config
