#include "core/admin/request_target.hpp"

#include <gtest/gtest.h>

namespace oemlink::admin {
namespace {

TEST(AdminRequestTarget, PercentDecodesAndRefusesBrokenEscapes) {
  EXPECT_EQ(percent_decode("car%2D1%3a%20x+y"), "car-1: x+y");
  EXPECT_EQ(percent_decode(""), "");
  EXPECT_FALSE(percent_decode("%"));
  EXPECT_FALSE(percent_decode("a%2"));
  EXPECT_FALSE(percent_decode("%zz"));
}

TEST(AdminRequestTarget, QueryParametersFirstOfARepeatedNameWins) {
  auto q = query_parameters("/admin/connections?after=car%2F1&limit=5&limit=6&flag&&");
  ASSERT_TRUE(q);
  EXPECT_EQ(q->at("after"), "car/1");
  EXPECT_EQ(q->at("limit"), "5");
  EXPECT_EQ(q->at("flag"), "");
  EXPECT_EQ(q->size(), 3u);
  EXPECT_TRUE(query_parameters("/x")->empty());
  EXPECT_FALSE(query_parameters("/x?a=%G1"));
}

TEST(AdminRequestTarget, PercentEncodeRoundTrips) {
  const std::string id = "fleet/car 7:ü%";
  EXPECT_EQ(percent_encode("car-1_a.b~"), "car-1_a.b~");
  EXPECT_EQ(percent_encode("a/b c"), "a%2Fb%20c");
  EXPECT_EQ(percent_decode(percent_encode(id)), id);
}

}  // namespace
}  // namespace oemlink::admin
