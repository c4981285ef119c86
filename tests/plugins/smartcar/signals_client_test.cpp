#include "signals_client.hpp"

#include <gtest/gtest.h>

namespace oemlink::smartcar {
namespace {

constexpr std::string_view kBase = "https://vehicle.api.smartcar.com/v3";
constexpr std::string_view kCur = "https://vehicle.api.smartcar.com/v3/vehicles/v1/signals";

TEST(SmartcarPaging, NextLinkForms) {
  EXPECT_EQ(
      *resolve_next(kBase, kCur, "https://vehicle.api.smartcar.com/v3/vehicles/v1/signals?page=2"),
      "https://vehicle.api.smartcar.com/v3/vehicles/v1/signals?page=2");
  EXPECT_EQ(*resolve_next(kBase, kCur, "/v3/vehicles/v1/signals?page=2"),
            "https://vehicle.api.smartcar.com/v3/vehicles/v1/signals?page=2");
  EXPECT_EQ(*resolve_next(kBase, kCur, "/vehicles/v1/signals?page=2"),
            "https://vehicle.api.smartcar.com/v3/vehicles/v1/signals?page=2");
  EXPECT_EQ(*resolve_next(kBase, std::string(kCur) + "?page=2", "?page=3"),
            "https://vehicle.api.smartcar.com/v3/vehicles/v1/signals?page=3");
  EXPECT_FALSE(resolve_next(kBase, kCur, ""));
}

TEST(SmartcarPaging, TokenNeverLeavesTheApiOrigin) {
  bool refused = false;
  EXPECT_FALSE(resolve_next(kBase, kCur, "https://evil.example/v3/x", &refused));
  EXPECT_TRUE(refused);
  EXPECT_FALSE(resolve_next(kBase, kCur, "//evil.example/x", &refused));
  EXPECT_TRUE(refused);
  EXPECT_FALSE(
      resolve_next(kBase, kCur, "https://vehicle.api.smartcar.com.evil.example/v3", &refused));
  EXPECT_TRUE(refused);
  EXPECT_FALSE(resolve_next(kBase, kCur, "/v3/x y", &refused));
  EXPECT_TRUE(refused);
}

TEST(SmartcarPaging, UrlEncoding) {
  EXPECT_EQ(signals_url(kBase, "a/b c"), std::string(kBase) + "/vehicles/a%2Fb%20c/signals");
  EXPECT_EQ(url_encode("rt+/=x"), "rt%2B%2F%3Dx");
}

}  // namespace
}  // namespace oemlink::smartcar
