// Shared by the config tests: a scratch directory per test and YAML written inline.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>

#include "core/config/config.hpp"
#include "core/config/config_error.hpp"

namespace oemlink::config::testing {

inline std::filesystem::path testdata_dir() {
  return std::filesystem::path(OEMLINK_SOURCE_DIR) / "tests/config/testdata";
}

// Inline YAML starts on the line after R"( so that line 1 in a message is the first line shown.
inline std::string_view yaml(std::string_view text) {
  if (text.starts_with('\n')) text.remove_prefix(1);
  return text;
}

class ScratchDir {
 public:
  ScratchDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "oemlink-config-XXXXXX");
    path_ = mkdtemp(pattern.data());
  }
  ~ScratchDir() { std::filesystem::remove_all(path_); }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path write(const std::filesystem::path& relative, std::string_view content) {
    std::filesystem::path file = path_ / relative;
    std::filesystem::create_directories(file.parent_path());
    std::ofstream(file, std::ios::binary) << content;
    return file;
  }

 private:
  std::filesystem::path path_;
};

// The ConfigError text for `text` loaded as "test.yaml", or a failure when it loads.
inline std::string load_error(std::string_view text,
                              const std::filesystem::path& base_dir = "/etc/oemlink") {
  try {
    load_config_text(text, "test.yaml", base_dir);
  } catch (const ConfigError& error) {
    return error.what();
  }
  ADD_FAILURE() << "expected a ConfigError for:\n" << text;
  return {};
}

// Sets an environment variable for one test and restores the previous state after it.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) {
      setenv(name, value, 1);
    } else {
      unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      setenv(name_.c_str(), old_->c_str(), 1);
    } else {
      unsetenv(name_.c_str());
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::string name_;
  std::optional<std::string> old_;
};

}  // namespace oemlink::config::testing
