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

// Aliases are also a width problem: nine levels of ten aliases each ("billion laughs") expand a
// 1 KiB file to 10^9 nodes. Every node a document holds costs it at least a byte or two, so a
// budget proportional to its size admits every real configuration and stops the expansion early.
struct NodeBudget {
  size_t left;
};

ConfigNode convert(const YAML::Node& node, int depth, NodeBudget& budget) {
  if (depth > kMaxDepth) {
    throw YamlSyntaxError(to_mark(node.Mark()),
                          "nested deeper than " + std::to_string(kMaxDepth) + " levels");
  }
  if (budget.left == 0) {
    throw YamlSyntaxError(to_mark(node.Mark()),
                          "aliases (*name) expand this document to more nodes than it could hold "
                          "written out; refusing (a configuration needs no alias bomb)");
  }
  --budget.left;
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
        out.entries.push_back(ConfigNode::Entry{convert(entry.first, depth + 1, budget),
                                                convert(entry.second, depth + 1, budget)});
      }
      break;
    case YAML::NodeType::Sequence:
      out.kind = ConfigNode::Kind::sequence;
      for (const auto& item : node) out.items.push_back(convert(item, depth + 1, budget));
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
  NodeBudget budget{10'000 + 2 * text.size()};
  return convert(root, 0, budget);
}

}  // namespace oemlink::config
