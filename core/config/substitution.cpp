#include "core/config/substitution.hpp"

#include <cctype>
#include <cstdlib>
#include <cstring>

#include "core/config/file_text.hpp"

namespace oemlink::config {
namespace {

constexpr std::string_view kOpen = "${";
constexpr std::string_view kEscapedOpen = "$${";
constexpr std::string_view kFilePrefix = "file:";
constexpr std::string_view kDefaultSeparator = ":-";

Parsed<std::string> failure(std::string problem) {
  return {std::nullopt, std::move(problem), {}};
}

bool is_variable_name(std::string_view name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) return false;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  }
  return true;
}

Parsed<std::string> read_file(const std::filesystem::path& path, std::string_view placeholder) {
  int error = 0;
  std::optional<std::string> content = read_text_file(path, error);
  if (!content) {
    return failure("cannot read file \"" + path.string() + "\" for \"" + std::string(placeholder) +
                   "\": " + read_error_text(error));
  }
  // Secrets are usually written with `echo`, which appends a newline nobody means.
  if (content->ends_with('\n')) content->pop_back();
  if (content->ends_with('\r')) content->pop_back();
  return {std::move(*content), {}, {}};
}

Parsed<std::string> expand_variable(std::string_view body, std::string_view placeholder) {
  std::string_view name = body;
  std::optional<std::string_view> fallback;
  if (size_t separator = body.find(kDefaultSeparator); separator != std::string_view::npos) {
    name = body.substr(0, separator);
    fallback = body.substr(separator + kDefaultSeparator.size());
  }
  if (!is_variable_name(name)) {
    return failure("invalid placeholder \"" + std::string(placeholder) +
                   "\": expected ${NAME}, ${NAME:-default} or ${file:PATH}");
  }
  const char* value = std::getenv(std::string(name).c_str());
  if (value && (*value != '\0' || !fallback)) return {std::string(value), {}, {}};
  if (fallback) return {std::string(*fallback), {}, {}};
  return failure("environment variable " + std::string(name) + " is not set (in \"" +
                 std::string(placeholder) + "\"; use ${" + std::string(name) +
                 ":-default} for a default)");
}

}  // namespace

Parsed<std::string> expand_placeholders(std::string_view text,
                                        const std::filesystem::path& base_dir) {
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    if (text.substr(i).starts_with(kEscapedOpen)) {
      out += kOpen;
      i += kEscapedOpen.size();
      continue;
    }
    if (!text.substr(i).starts_with(kOpen)) {
      out += text[i++];
      continue;
    }
    size_t close = text.find('}', i + kOpen.size());
    if (close == std::string_view::npos) {
      return failure(R"(unterminated "${" (write "$${" for a literal "${"))");
    }
    std::string_view placeholder = text.substr(i, close + 1 - i);
    std::string_view body = text.substr(i + kOpen.size(), close - i - kOpen.size());
    Parsed<std::string> expanded;
    if (body.starts_with(kFilePrefix)) {
      std::filesystem::path path(body.substr(kFilePrefix.size()));
      if (path.empty()) return failure("empty path in \"" + std::string(placeholder) + "\"");
      expanded = read_file(path.is_absolute() ? path : base_dir / path, placeholder);
    } else {
      expanded = expand_variable(body, placeholder);
    }
    if (!expanded.value) return expanded;
    out += *expanded.value;
    i = close + 1;
  }
  return {std::move(out), {}, {}};
}

}  // namespace oemlink::config
