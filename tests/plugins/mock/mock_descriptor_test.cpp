// The mock's descriptor, settings table and settings validation.
#include "tests/plugins/mock/mock_fixture.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <map>

namespace oemlink::test {
namespace {

TEST(MockDescriptor, DeclaresNameVersionAndCapabilities) {
  const oemlink_driver* d = mock_descriptor();
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->struct_size, sizeof(oemlink_driver));
  EXPECT_EQ(d->abi_major, OEMLINK_ABI_MAJOR);
  EXPECT_EQ(d->abi_minor, OEMLINK_ABI_MINOR);
  EXPECT_STREQ(d->name, "mock");
  EXPECT_NE(std::strlen(d->version), 0u);
  EXPECT_EQ(d->capabilities, OEMLINK_CAP_POLL | OEMLINK_CAP_STREAM | OEMLINK_CAP_WEBHOOK);
  EXPECT_NE(d->create, nullptr);
  EXPECT_NE(d->destroy, nullptr);
  EXPECT_NE(d->open, nullptr);
  EXPECT_NE(d->close, nullptr);
  EXPECT_NE(d->poll, nullptr);
  EXPECT_NE(d->stream_start, nullptr);
  EXPECT_NE(d->stream_stop, nullptr);
  EXPECT_NE(d->webhook, nullptr);
}

TEST(MockDescriptor, SettingsTableListsEveryKnobWithTypeAndDefault) {
  const oemlink_driver* d = mock_descriptor();
  ASSERT_NE(d, nullptr);
  struct Expected {
    oemlink_setting_type type;
    const char* default_value;
  };
  // Defaults are YAML text as an operator would write it: durations carry their unit.
  const std::map<std::string, Expected> expected = {
      {"seed", {OEMLINK_SETTING_INT, "1"}},
      {"asleep_rate", {OEMLINK_SETTING_NUMBER, "0"}},
      {"rate_limited_rate", {OEMLINK_SETTING_NUMBER, "0"}},
      {"error_rate", {OEMLINK_SETTING_NUMBER, "0"}},
      {"retry_rate", {OEMLINK_SETTING_NUMBER, "0"}},
      {"rate_limit_retry_after", {OEMLINK_SETTING_DURATION_MS, "1h"}},
      {"reauth_after_polls", {OEMLINK_SETTING_INT, "0"}},
      {"latency", {OEMLINK_SETTING_DURATION_MS, "0ms"}},
      {"stream_interval", {OEMLINK_SETTING_DURATION_MS, "1s"}},
      {"fail_create", {OEMLINK_SETTING_BOOL, "false"}},
      {"webhook", {OEMLINK_SETTING_BOOL, "false"}},
      {"link_authorize_url", {OEMLINK_SETTING_STRING, "https://mock-oem.invalid/authorize"}},
      {"signals", {OEMLINK_SETTING_OBJECT, nullptr}},
  };
  ASSERT_EQ(d->setting_count, expected.size());
  for (size_t i = 0; i < d->setting_count; ++i) {
    const oemlink_setting& s = d->settings[i];
    SCOPED_TRACE(s.name);
    EXPECT_EQ(s.struct_size, sizeof(oemlink_setting));
    auto it = expected.find(s.name);
    ASSERT_NE(it, expected.end());
    EXPECT_EQ(s.type, it->second.type);
    EXPECT_EQ(s.flags, 0u);
    if (it->second.default_value) {
      EXPECT_STREQ(s.default_value, it->second.default_value);
    } else {
      EXPECT_EQ(s.default_value, nullptr);
    }
    EXPECT_NE(std::strlen(s.description), 0u);
  }
}

TEST(MockCreate, FailCreateReportsItsMessage) {
  DriverUnderTest d(mock_descriptor(), R"({"fail_create": true})");
  EXPECT_FALSE(d.created());
  EXPECT_EQ(d.create_error(), "mock: fail_create is set");
}

TEST(MockCreate, AcceptsTheHostsFilledInDefaults) {
  DriverUnderTest d(mock_descriptor(), R"({"seed": 1, "asleep_rate": 0, "rate_limited_rate": 0,
      "error_rate": 0, "retry_rate": 0, "rate_limit_retry_after": 3600000,
      "reauth_after_polls": 0, "latency": 0, "stream_interval": 1000, "fail_create": false,
      "signals": null})");
  EXPECT_TRUE(d.created()) << d.create_error();
}

TEST(MockCreate, RejectsBadSettingsWithAReason) {
  struct Case {
    const char* json;
    const char* message_part;
  };
  for (const Case& c :
       {Case{R"({"colour": "red"})", "unknown setting 'colour'"},
        Case{R"({"error_rate": 1.5})", "error_rate"}, Case{R"({"latency": -1})", "latency"},
        Case{R"({"signals": ["speed", "warpFactor"]})", "warpFactor"},
        Case{R"({"signals": []})", "at least one"},
        Case{R"({"stream_interval": 0})", "stream_interval"}, Case{R"([1, 2])", "JSON object"},
        Case{R"({"seed": )", "not valid JSON"}}) {
    SCOPED_TRACE(c.json);
    DriverUnderTest d(mock_descriptor(), c.json);
    EXPECT_FALSE(d.created());
    EXPECT_NE(d.create_error().find(c.message_part), std::string::npos) << d.create_error();
    EXPECT_EQ(d.create_error().rfind("mock: ", 0), 0u) << d.create_error();
  }
}

}  // namespace
}  // namespace oemlink::test
