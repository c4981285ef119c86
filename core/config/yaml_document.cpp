#include "core/config/yaml_document.hpp"

#include <yaml-cpp/yaml.h>

namespace oemlink::config {
namespace {

// Aliases are expanded by copying, so a document of nested aliases could grow without bound;
// no configuration needs more depth than this.
constexpr int kMaxDepth = 64;

Mark to_mark(const YAML::Mark& mark) {
  if (mark.is_null()) return {};
  return Mark{mark.line + 1, mark.column + 1};
}

ConfigNode convert(const YAML::Node& node, int depth) {
  if (depth > kMaxDepth) {
    throw YamlSyntaxError(to_mark(node.Mark()),
                          "nested deeper than " + std::to_string(kMaxDepth) + " levels");
  }
  ConfigNode out;
  out.mark = to_mark(node.Mark());
  switch (node.Type()) {
    case YAML::NodeType::Scalar:
      out.kind = ConfigNode::Kind::scalar;
      out.text = node.Scalar();
      // yaml-cpp tags a quoted scalar "!" and a plain one "?".
      out.quoted = node.Tag() == "!";
      break;
    case YAML::NodeType::Map:
      out.kind = ConfigNode::Kind::mapping;
      // By value: yaml-cpp's iterator yields temporaries.
      for (const auto& entry : node) {
        out.entries.push_back(
            ConfigNode::Entry{convert(entry.first, depth + 1), convert(entry.second, depth + 1)});
      }
      break;
    case YAML::NodeType::Sequence:
      out.kind = ConfigNode::Kind::sequence;
      for (const auto& item : node) out.items.push_back(convert(item, depth + 1));
      break;
    default:
      break;
  }
  return out;
}

}  // namespace

ConfigNode parse_yaml(std::string_view text) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::ParserException& error) {
    throw YamlSyntaxError(to_mark(error.mark), error.msg);
  }
  return convert(root, 0);
}

}  // namespace oemlink::config
