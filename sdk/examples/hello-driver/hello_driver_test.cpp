// Unit tests of the hello driver, written as a third party writes them: the built driver is
// loaded through the C ABI and run against the SDK test kit's fake host, with a clock the test
// sets and emit answers the test picks.
#include <oemlink/signals.hpp>
#include <oemlink/testkit/driver_harness.hpp>

#include <gtest/gtest.h>

#include <string>

namespace {

using oemlink::testkit::Completion;
using oemlink::testkit::DriverUnderTest;

const oemlink_driver* hello() {
  static const oemlink_driver* d = [] {
    std::string error;
    const oemlink_driver* loaded = oemlink::testkit::load_driver(HELLO_DRIVER_PATH, &error);
    if (!loaded) ADD_FAILURE() << error;
    return loaded;
  }();
  return d;
}

TEST(HelloDriver, DescribesItselfAndItsOneSetting) {
  const oemlink_driver* d = hello();
  ASSERT_NE(d, nullptr);
  EXPECT_STREQ(d->name, "hello");
  EXPECT_EQ(d->capabilities, OEMLINK_CAP_POLL);
  ASSERT_EQ(d->setting_count, 1u);
  EXPECT_STREQ(d->settings[0].name, "speed_kmh");
  EXPECT_EQ(d->settings[0].type, OEMLINK_SETTING_NUMBER);
  EXPECT_STREQ(d->settings[0].default_value, "42");
}

TEST(HelloDriver, EachPollEmitsTheConfiguredSpeedAtTheHostsTime) {
  DriverUnderTest t(hello(), R"({"speed_kmh": 88.5})");
  ASSERT_TRUE(t.created()) << t.create_error();
  oemlink_conn* car = t.open("car-1");
  ASSERT_NE(car, nullptr) << t.open_error();

  t.host.now_ms = 1'750'000'000'000;
  Completion& done = t.poll(car);

  EXPECT_EQ(done.calls, 1);
  EXPECT_EQ(done.status, OEMLINK_OK);
  ASSERT_EQ(t.host.emits.size(), 1u);
  EXPECT_EQ(t.host.emits[0].conn, car);
  ASSERT_EQ(t.host.emits[0].readings.size(), 1u);
  const auto& reading = t.host.emits[0].readings[0];
  EXPECT_EQ(reading.name, oemlink::signals::speed.name);
  EXPECT_EQ(reading.kind, oemlink::signals::speed.value_kind());
  EXPECT_EQ(reading.number, 88.5);
  EXPECT_EQ(reading.timestamp_ms, 1'750'000'000'000);
}

TEST(HelloDriver, BackPressureCompletesThePollWithRetry) {
  DriverUnderTest t(hello(), R"({"speed_kmh": 42})");
  ASSERT_TRUE(t.created()) << t.create_error();
  oemlink_conn* car = t.open("car-1");
  t.host.emit_answer = OEMLINK_RETRY;

  Completion& done = t.poll(car);

  EXPECT_EQ(done.calls, 1);
  EXPECT_EQ(done.status, OEMLINK_RETRY);
  EXPECT_EQ(done.message, "host back-pressure");
}

TEST(HelloDriver, RefusesANegativeSpeed) {
  DriverUnderTest t(hello(), R"({"speed_kmh": -1})");
  EXPECT_FALSE(t.created());
  EXPECT_EQ(t.create_error(), "hello: speed_kmh must not be negative");
}

TEST(HelloDriver, SettingsThatAreNotWhatTheHostSendsNameTheSetting) {
  DriverUnderTest t(hello(), R"({"speed_kmh": "fast"})");
  EXPECT_FALSE(t.created());
  EXPECT_NE(t.create_error().find("speed_kmh"), std::string::npos) << t.create_error();
}

}  // namespace
