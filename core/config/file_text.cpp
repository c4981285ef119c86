#include "core/config/file_text.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

namespace oemlink::config {

std::optional<std::string> read_text_file(const std::filesystem::path& path, int& error) {
  // stdio rather than iostreams: it keeps errno, and a directory fails with EISDIR on the first
  // read instead of reading as empty.
  std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!file) {
    error = errno;
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
  if (error == EFBIG) return "larger than " + std::to_string(kMaxTextFileBytes >> 20) + " MiB";
  return std::strerror(error);
}

}  // namespace oemlink::config
