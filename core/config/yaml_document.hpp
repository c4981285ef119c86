// The one place yaml-cpp is used: YAML text in, a ConfigNode tree out.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

#include "core/config/config_node.hpp"

namespace oemlink::config {

class YamlSyntaxError : public std::runtime_error {
 public:
  YamlSyntaxError(Mark mark, const std::string& message)
      : std::runtime_error(message), mark_(mark) {}
  const Mark& mark() const { return mark_; }

 private:
  Mark mark_;
};

// Parses one document; an empty text is a null node. Throws YamlSyntaxError.
ConfigNode parse_yaml(std::string_view text);

}  // namespace oemlink::config
