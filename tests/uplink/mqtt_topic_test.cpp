#include "core/uplink/mqtt_topic.hpp"

#include <gtest/gtest.h>

namespace oemlink::uplink {
namespace {

constexpr const char* kEvent =
    R"({"id":"e1","subject":"did:erc721:137:0xbA5738a18d83D41847dfFbDC6101d37C69c9B0cF:4242","data":{}})";

std::string topic_or_error(std::string_view tmpl, std::string_view conn, std::string_view json) {
  auto r = expand_topic(tmpl, conn, json);
  if (auto* t = std::get_if<std::string>(&r)) return *t;
  return "ERROR: " + std::get<TopicError>(r).reason;
}

TEST(MqttTopic, SubstitutesConnectionAndVehicleToken) {
  EXPECT_EQ(topic_or_error("oemlink/{connection}", "tesla-eu.1", kEvent), "oemlink/tesla-eu.1");
  EXPECT_EQ(topic_or_error("v/{vehicle_token}/{connection}/{vehicle_token}", "c:1", kEvent),
            "v/4242/c:1/4242");
  EXPECT_EQ(topic_or_error("fixed/topic", "c", "not json"), "fixed/topic");
  EXPECT_EQ(topic_or_error("{connection", "c", kEvent), "{connection");  // not a placeholder
}

TEST(MqttTopic, VehicleTokenIsTheLastSegmentOfTheSubject) {
  EXPECT_EQ(vehicle_token_of(kEvent), "4242");
  EXPECT_EQ(vehicle_token_of(R"({"subject":"7"})"), "7");
  EXPECT_EQ(vehicle_token_of(R"({"subject":"did:x:"})"), std::nullopt);
  EXPECT_EQ(vehicle_token_of(R"({"subject":42})"), std::nullopt);
  EXPECT_EQ(vehicle_token_of(R"({"subject":"did:x:\u0034"})"), std::nullopt);
  EXPECT_EQ(vehicle_token_of(R"({"id":"e"})"), std::nullopt);
  EXPECT_EQ(vehicle_token_of("[]"), std::nullopt);
}

TEST(MqttTopic, RefusesValuesThatWouldChangeTheTopic) {
  EXPECT_NE(topic_or_error("a/{connection}", "x+y", kEvent).find("'+'"), std::string::npos);
  EXPECT_NE(topic_or_error("a/{connection}", "x#", kEvent).find("'#'"), std::string::npos);
  EXPECT_NE(topic_or_error("a/{connection}", "x/y", kEvent).find("'/'"), std::string::npos);
  EXPECT_NE(topic_or_error("a/{connection}", std::string_view("x\0y", 3), kEvent).find("\\0"),
            std::string::npos);
  EXPECT_NE(topic_or_error("a/{connection}", "", kEvent).find("empty"), std::string::npos);
  EXPECT_NE(topic_or_error("a/{vehicle_token}", "c", R"({"subject":"did:x:1/2"})").find("'/'"),
            std::string::npos);
  EXPECT_NE(topic_or_error("a/{vehicle_token}", "c", R"({"id":"e"})").find("no subject"),
            std::string::npos);
  EXPECT_NE(topic_or_error("", "c", kEvent).find("empty"), std::string::npos);
}

}  // namespace
}  // namespace oemlink::uplink
