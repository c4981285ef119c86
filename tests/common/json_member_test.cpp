#include "core/common/json_member.hpp"

#include <gtest/gtest.h>

namespace oemlink {
namespace {

TEST(RawJsonMember, ReturnsTheExactBytesOfEachKindOfValue) {
  const std::string_view json =
      R"( { "a" : 1.50 , "s":"x\"}y", "o": {"k": [1, "]"], "n": {}} ,"l":[ 1,2 ],"t":true} )";
  EXPECT_EQ(raw_json_member(json, "a"), "1.50");
  EXPECT_EQ(raw_json_member(json, "s"), R"("x\"}y")");
  EXPECT_EQ(raw_json_member(json, "o"), R"({"k": [1, "]"], "n": {}})");
  EXPECT_EQ(raw_json_member(json, "l"), "[ 1,2 ]");
  EXPECT_EQ(raw_json_member(json, "t"), "true");
}

TEST(RawJsonMember, OnlyTopLevelMembersCount) {
  EXPECT_EQ(raw_json_member(R"({"o":{"k":1}})", "k"), std::nullopt);
  EXPECT_EQ(raw_json_member(R"({"o":"k"})", "k"), std::nullopt);
  EXPECT_EQ(raw_json_member(R"({"a":1})", "b"), std::nullopt);
}

TEST(RawJsonMember, NotAnObjectOrTruncatedIsNullopt) {
  EXPECT_EQ(raw_json_member(R"(["a",1])", "a"), std::nullopt);
  EXPECT_EQ(raw_json_member("", "a"), std::nullopt);
  EXPECT_EQ(raw_json_member(R"({"a":"unterminated)", "a"), std::nullopt);
  EXPECT_EQ(raw_json_member(R"({"a" 1})", "a"), std::nullopt);
}

}  // namespace
}  // namespace oemlink
