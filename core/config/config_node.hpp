// A YAML document as plain data, with the position of every node. The readers in core/config
// walk this tree, and a driver's `settings:` block is kept in it until the driver's table is
// known; yaml-cpp itself stays inside yaml_document.cpp, so no public header exposes it.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace oemlink::config {

// 1-based line and column in the source; 0 when unknown (a node built by hand).
struct Mark {
  int line = 0;
  int column = 0;
  bool operator==(const Mark&) const = default;
};

struct ConfigNode {
  enum class Kind { null, scalar, mapping, sequence };
  struct Entry;

  Kind kind = Kind::null;
  std::string text;     // a scalar as written, before placeholder expansion
  bool quoted = false;  // a quoted scalar is text, never a number or a bool
  Mark mark;
  std::vector<Entry> entries;     // a mapping's, in document order (duplicates included)
  std::vector<ConfigNode> items;  // a sequence's

  bool is_null() const { return kind == Kind::null; }
  bool is_scalar() const { return kind == Kind::scalar; }
  bool is_mapping() const { return kind == Kind::mapping; }
  bool is_sequence() const { return kind == Kind::sequence; }
  // The value of the first entry whose key is the scalar `key`; null when absent.
  const ConfigNode* find(std::string_view key) const;

  bool operator==(const ConfigNode&) const;
};

struct ConfigNode::Entry {
  ConfigNode key;
  ConfigNode value;
  bool operator==(const Entry&) const = default;
};

}  // namespace oemlink::config
