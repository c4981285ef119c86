// Placeholders in scalar values, expanded before a value is type-checked:
//   ${NAME}            environment variable NAME; unset is an error
//   ${NAME:-default}   NAME, or `default` when NAME is unset or empty
//   ${file:PATH}       the file's content minus one trailing newline (PATH relative to base_dir)
//   $${                a literal "${"
// Expanded values are often secrets, so messages quote only the placeholder.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "core/config/scalars.hpp"

namespace oemlink::config {

Parsed<std::string> expand_placeholders(std::string_view text,
                                        const std::filesystem::path& base_dir);

}  // namespace oemlink::config
