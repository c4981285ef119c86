#include "core/config/config_node.hpp"

namespace oemlink::config {

const ConfigNode* ConfigNode::find(std::string_view key) const {
  for (const Entry& entry : entries) {
    if (entry.key.is_scalar() && entry.key.text == key) return &entry.value;
  }
  return nullptr;
}

// Out of line: Entry is incomplete where ConfigNode is defined.
bool ConfigNode::operator==(const ConfigNode& other) const {
  return kind == other.kind && text == other.text && quoted == other.quoted && mark == other.mark &&
         entries == other.entries && items == other.items;
}

}  // namespace oemlink::config
