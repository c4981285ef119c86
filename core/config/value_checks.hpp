// Text checks that configuration tables attach to keys (SettingSpec::check).
#pragma once

#include <string_view>

namespace oemlink::config {

bool is_lower_name(std::string_view text);     // [a-z0-9_-]+
bool is_connection_id(std::string_view text);  // [A-Za-z0-9_.:-]+
// Empty, or 17 of 0-9 and A-Z without I, O and Q (ISO 3779: they read as 1 and 0).
bool is_vin_or_empty(std::string_view text);
bool is_ethereum_address(std::string_view text);  // 0x + 40 hex digits
// 0x + 40 hex digits, all lowercase, all uppercase, or in correct EIP-55 case.
bool is_checksum_valid_ethereum_address(std::string_view text);
// A token id: 1 to 2^256 - 1 in decimal, no sign, no leading zeros, nothing else.
bool is_token_id(std::string_view text);
bool is_token_id_or_empty(std::string_view text);
bool is_http_url(std::string_view text);     // https:// or http://
bool is_mqtt_topic(std::string_view text);   // non-empty, no wildcards
bool is_json_object(std::string_view text);  // parses as JSON and is an object

}  // namespace oemlink::config
