// Finds one member of a JSON object without parsing it: signature checks must hash the exact
// bytes of `data` as sent (a re-serialization could differ), and the MQTT sink takes a stored
// event's `subject` without a DOM per message.
#pragma once

#include <optional>
#include <string_view>

namespace oemlink {

// The raw text of member `key` of the top-level JSON object in `json`, exactly as written
// (whitespace inside it included); nullopt when absent or when `json` is not an object. Does
// not validate the rest of the document.
[[nodiscard]] std::optional<std::string_view> raw_json_member(std::string_view json,
                                                              std::string_view key);

}  // namespace oemlink
