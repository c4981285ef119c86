#include "core/config/value_checks.hpp"

#include <boost/json/parse.hpp>

#include <cctype>

#include "core/common/eip55.hpp"
#include "core/common/uint256.hpp"

namespace oemlink::config {
namespace {

bool all_of_chars(std::string_view text, bool (*allowed)(char)) {
  if (text.empty()) return false;
  for (char c : text) {
    if (!allowed(c)) return false;
  }
  return true;
}

bool is_lower_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

bool is_connection_id_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == ':' || c == '-';
}

bool is_vin_char(char c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z' && c != 'I' && c != 'O' && c != 'Q');
}

}  // namespace

bool is_lower_name(std::string_view text) {
  return all_of_chars(text, is_lower_name_char);
}

bool is_connection_id(std::string_view text) {
  return all_of_chars(text, is_connection_id_char);
}

bool is_vin_or_empty(std::string_view text) {
  return text.empty() || (text.size() == 17 && all_of_chars(text, is_vin_char));
}

bool is_ethereum_address(std::string_view text) {
  if (text.size() != 42 || text[0] != '0' || (text[1] != 'x' && text[1] != 'X')) return false;
  for (char c : text.substr(2)) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

bool is_checksum_valid_ethereum_address(std::string_view text) {
  return is_checksum_valid_address(text);
}

bool is_token_id(std::string_view text) {
  // Canonical text only: "007" or "0" would be read by one tool and refused by another.
  const std::optional<Uint256> v = parse_uint256_decimal(text);
  return v && text != "0" && text[0] != '0';
}

bool is_token_id_or_empty(std::string_view text) {
  return text.empty() || is_token_id(text);
}

bool is_http_url(std::string_view text) {
  return text.starts_with("https://") || text.starts_with("http://");
}

bool is_mqtt_topic(std::string_view text) {
  return !text.empty() && text.find_first_of("+#") == std::string_view::npos;
}

bool is_json_object(std::string_view text) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(text, ec);
  return !ec && v.is_object();
}

}  // namespace oemlink::config
