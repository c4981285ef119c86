// The JSON reader behind typed settings: exact on what the host sends, and refusing malformed
// text with the byte where it breaks.
#include <oemlink/settings_json.hpp>

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace oemlink::test {
namespace {

using detail::JsonReader;
using detail::JsonValue;

std::vector<std::pair<std::string, JsonValue>> members(std::string_view text) {
  JsonReader r(text);
  r.begin_object();
  std::vector<std::pair<std::string, JsonValue>> out;
  std::string key;
  JsonValue value;
  while (r.next_member(key, value)) out.emplace_back(key, value);
  return out;
}

std::string error_of(std::string_view text) {
  try {
    members(text);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

TEST(SdkSettingsJson, DecodesEveryKindOfValue) {
  auto m = members(
      " {\"s\" : \"a\\\"b\\\\c\\/\\n\\u00e9\\ud83d\\ude97\", \"n\":-1.5e+3, \"t\":true, "
      "\"f\":false, \"z\":null, \"o\":{\"k\":[1,\"]\"]}, \"a\":[]}\n");
  ASSERT_EQ(m.size(), 7u);
  EXPECT_EQ(m[0].first, "s");
  EXPECT_EQ(m[0].second.kind, JsonValue::Kind::string);
  EXPECT_EQ(m[0].second.text, "a\"b\\c/\n\xc3\xa9\xf0\x9f\x9a\x97");
  EXPECT_EQ(m[1].second.kind, JsonValue::Kind::number);
  EXPECT_EQ(m[1].second.raw, "-1.5e+3");
  EXPECT_TRUE(m[2].second.flag);
  EXPECT_EQ(m[3].second.kind, JsonValue::Kind::boolean);
  EXPECT_FALSE(m[3].second.flag);
  EXPECT_EQ(m[4].second.kind, JsonValue::Kind::null);
  EXPECT_EQ(m[5].second.kind, JsonValue::Kind::composite);
  EXPECT_EQ(m[5].second.raw, R"({"k":[1,"]"]})");
  EXPECT_EQ(m[6].second.raw, "[]");
}

TEST(SdkSettingsJson, EmptyTextAndEmptyObjectHaveNoMembers) {
  EXPECT_TRUE(members("").empty());
  EXPECT_TRUE(members("  {  }  ").empty());
}

TEST(SdkSettingsJson, MalformedTextIsRefusedWithItsByte) {
  EXPECT_EQ(error_of(R"({"a":1,})"), "settings are not valid JSON (byte 7): expected '\"'");
  EXPECT_EQ(error_of(R"({"a" 1})"), "settings are not valid JSON (byte 5): expected ':'");
  EXPECT_EQ(error_of(R"({"a":01})"),
            "settings are not valid JSON (byte 7): a number must not have a leading zero");
  EXPECT_EQ(error_of(R"({"a":"x)"), "settings are not valid JSON (byte 7): unterminated string");
  EXPECT_EQ(error_of(R"({"a":1} x)"),
            "settings are not valid JSON (byte 8): unexpected text after the settings object");
  EXPECT_EQ(error_of(R"({"a":tru})"), "settings are not valid JSON (byte 5): unknown literal");
  EXPECT_EQ(error_of(R"({"a":"\ud83d"})"),
            "settings are not valid JSON (byte 12): unpaired surrogate");
  EXPECT_EQ(error_of(R"({"a":[1,]})"), "settings are not valid JSON (byte 8): expected a value");
  EXPECT_EQ(error_of(R"({"seed": )"), "settings are not valid JSON (byte 9): expected a value");
  EXPECT_EQ(error_of("[1, 2]"), "settings must be a JSON object");
  EXPECT_EQ(error_of(std::string(100, '[')), "settings must be a JSON object");
  EXPECT_NE(error_of("{\"a\":" + std::string(100, '[')).find("nesting is too deep"),
            std::string::npos);
}

TEST(SdkSettingsJson, StringArraysOnlyFromListsOfStrings) {
  EXPECT_EQ(JsonReader::string_array(R"([ "a" , "b\u0041" ])"),
            (std::vector<std::string>{"a", "bA"}));
  EXPECT_EQ(JsonReader::string_array("[]"), std::vector<std::string>{});
  EXPECT_FALSE(JsonReader::string_array(R"(["a", 1])"));
  EXPECT_FALSE(JsonReader::string_array(R"({"a": "b"})"));
}

}  // namespace
}  // namespace oemlink::test
