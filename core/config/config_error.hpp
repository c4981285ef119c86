// The one exception the configuration code throws: every problem found in one pass, each with
// the position in the YAML and the key path, so an operator fixes them all in one edit.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include "core/config/config.hpp"

namespace oemlink::config {

struct Diagnostic {
  Position position;
  std::string key_path;  // "drivers[0].poll_interval"; empty for document-level problems
  std::string message;   // never contains a substituted value (those may be secrets)
};

// "FILE:LINE:COL: KEY.PATH: message"; unknown parts (line 0, empty key path) are left out.
std::string format_diagnostic(const Diagnostic& diagnostic);

class ConfigError : public std::runtime_error {
 public:
  // what() is every diagnostic formatted, one per line.
  explicit ConfigError(std::vector<Diagnostic> diagnostics);

  const std::vector<Diagnostic>& diagnostics() const noexcept { return diagnostics_; }

 private:
  std::vector<Diagnostic> diagnostics_;
};

}  // namespace oemlink::config
