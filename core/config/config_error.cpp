#include "core/config/config_error.hpp"

namespace oemlink::config {
namespace {

std::string format_all(const std::vector<Diagnostic>& diagnostics) {
  std::string text;
  for (const Diagnostic& diagnostic : diagnostics) {
    if (!text.empty()) text += '\n';
    text += format_diagnostic(diagnostic);
  }
  return text;
}

}  // namespace

std::string format_diagnostic(const Diagnostic& diagnostic) {
  std::string text = diagnostic.position.file;
  if (diagnostic.position.line > 0) {
    text += ':' + std::to_string(diagnostic.position.line) + ':' +
            std::to_string(diagnostic.position.column);
  }
  text += ": ";
  if (!diagnostic.key_path.empty()) text += diagnostic.key_path + ": ";
  text += diagnostic.message;
  return text;
}

ConfigError::ConfigError(std::vector<Diagnostic> diagnostics)
    : std::runtime_error(format_all(diagnostics)), diagnostics_(std::move(diagnostics)) {}

}  // namespace oemlink::config
