// Wording for "that name is not one of these": the closest valid name when it is probably a
// typo, and the full list so the operator never has to open the docs to find the right one.
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace oemlink::config {

size_t edit_distance(std::string_view a, std::string_view b);

// `unknown <what> "lgging" (did you mean "logging"?); valid: data_dir, logging, ...`. The
// suggestion appears only within edit distance 2.
std::string unknown_name_message(std::string_view what, std::string_view name,
                                 std::span<const std::string_view> valid);

}  // namespace oemlink::config
