#include "core/config/schema_reference.hpp"

#include <string>

#include "core/config/tables.hpp"

namespace oemlink::config {
namespace {

// Inside a markdown table cell a bare '|' would start a new column.
std::string cell(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '|') out += '\\';
    out += c;
  }
  return out;
}

std::string base_type(const SettingSpec& spec) {
  switch (spec.type) {
    case SettingType::string:
      return "string";
    case SettingType::boolean:
      return "bool";
    case SettingType::integer:
      return "integer";
    case SettingType::number:
      return "number";
    case SettingType::duration:
      return "duration";
    case SettingType::size:
      return "size";
    case SettingType::choice: {
      std::string text;
      for (std::string_view choice : spec.choices) {
        if (!text.empty()) text += '|';
        text += "`" + std::string(choice) + "`";
      }
      return text;
    }
    case SettingType::path:
      return spec.base == PathBase::data_dir ? "path (under `data_dir`)" : "input path";
    case SettingType::string_map:
      return "string→string mapping";
    case SettingType::block:
    case SettingType::mapping:
      return "mapping";
    case SettingType::list:
      return "list";
  }
  return "?";
}

std::string type_column(const SettingSpec& spec) {
  std::string text;
  if (spec.flags & kDeprecated) text += "**deprecated**, ";
  if (spec.flags & kRequired) text += "**required**, ";
  if (!spec.shape.empty()) {
    text += spec.shape;
  } else {
    text += base_type(spec);
    if (!spec.range.shown.empty()) text += " " + std::string(spec.range.shown);
  }
  if (spec.flags & kNotEmpty) text += ", not empty";
  if (spec.flags & kSecret) text += ", secret";
  return text;
}

std::string default_column(const SettingSpec& spec) {
  if (!spec.default_note.empty()) return std::string(spec.default_note);
  if (!spec.default_value.empty()) return "`" + std::string(spec.default_value) + "`";
  return {};
}

template <class T>
void write_block(std::ostream& out, const SettingBlock<T>& block) {
  out << "### "
      << (block.path.empty() ? std::string("Top level") : "`" + std::string(block.path) + "`")
      << "\n\n"
      << block.intro << "\n\n"
      << "| Key | Type | Default | Meaning |\n"
      << "|---|---|---|---|\n";
  for (const Setting<T>& row : block.rows) {
    const SettingSpec& spec = row.spec;
    out << "| `" << spec.key << "` | " << cell(type_column(spec)) << " | "
        << cell(default_column(spec)) << " | " << cell(spec.description) << " |\n";
  }
  out << "\n";
}

}  // namespace

void write_schema_reference(std::ostream& out) {
  write_block(out, kTopLevelBlock);
  write_block(out, kLoggingBlock);
  write_block(out, kHttpBlock);
  write_block(out, kScheduleBlock);
  write_block(out, kQuarantineBlock);
  write_block(out, kDimoBlock);
  write_block(out, kVaultBlock);
  write_block(out, kKekBlock);
  write_block(out, kDataKekBlock);
  write_block(out, kOutboxBlock);
  write_block(out, kDriverBlock);
  write_block(out, kRateLimitBlock);
  write_block(out, kConnectionBlock);
  write_block(out, kSinkBlock);
  write_block(out, kFileSinkBlock);
  write_block(out, kHttpsSinkBlock);
  write_block(out, kMqttSinkBlock);
  write_block(out, kListenersBlock);
  write_block(out, kListenerBlock);
  write_block(out, kListenerTlsBlock);
  write_block(out, kLinkingBlock);
  write_block(out, kAdminListenerBlock);
  write_block(out, kAdminTlsBlock);
  write_block(out, kOperationsListenerBlock);
}

}  // namespace oemlink::config
