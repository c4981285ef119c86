// Whole-file reads with the reason for a failure, for the config file and ${file:...}.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace oemlink::config {

// The file's bytes, or nothing with `error` set to an errno value.
std::optional<std::string> read_text_file(const std::filesystem::path& path, int& error);

}  // namespace oemlink::config
