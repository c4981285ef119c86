// Whole-file reads with the reason for a failure, for the config file and ${file:...}.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace oemlink::config {

// Configuration and secrets are small; anything larger is a mistake (a device like /dev/zero,
// a log file) and must not exhaust memory.
inline constexpr size_t kMaxTextFileBytes = 4 << 20;

// The file's bytes, or nothing with `error` set to an errno value (EFBIG: more than
// kMaxTextFileBytes).
std::optional<std::string> read_text_file(const std::filesystem::path& path, int& error);

// Why read_text_file failed, for messages that name the file: "larger than 4 MiB" or strerror.
std::string read_error_text(int error);

}  // namespace oemlink::config
