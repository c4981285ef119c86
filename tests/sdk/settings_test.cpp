// Typed settings (settings.hpp): one declaration per setting gives the host's table and the
// driver's struct; parse() decodes what the host sends and names the setting at fault.
#include <oemlink/driver.hpp>
#include <oemlink/testkit/driver_harness.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace oemlink::test {
namespace {

using namespace ::oemlink::testkit;
using namespace std::chrono_literals;

struct AcmeSettings {
  std::string client_id;
  std::string region = "eu";
  int64_t page_size = 50;
  uint16_t retries = 3;
  double ratio = 0.5;
  bool verbose = false;
  std::chrono::milliseconds token_margin{0};
  uint32_t latency_ms = 0;
  JsonText routing;
  std::vector<std::string> models;
  std::optional<std::string> proxy;
};

constexpr SettingsTable kAcme{
    field("client_id", OEMLINK_SETTING_STRING, OEMLINK_SETTING_REQUIRED | OEMLINK_SETTING_SECRET,
          nullptr, "OAuth client id", &AcmeSettings::client_id),
    field("region", OEMLINK_SETTING_STRING, 0, "eu", "API region", &AcmeSettings::region),
    field("page_size", OEMLINK_SETTING_INT, 0, "50", "Vehicles per call", &AcmeSettings::page_size),
    field("retries", OEMLINK_SETTING_INT, 0, "3", "Retries", &AcmeSettings::retries),
    field("ratio", OEMLINK_SETTING_NUMBER, 0, "0.5", "Ratio", &AcmeSettings::ratio),
    field("verbose", OEMLINK_SETTING_BOOL, 0, "false", "Log more", &AcmeSettings::verbose),
    field("token_margin", OEMLINK_SETTING_DURATION_MS, 0, "5m", "Refresh early",
          &AcmeSettings::token_margin),
    field("latency", OEMLINK_SETTING_DURATION_MS, 0, "0ms", "Latency", &AcmeSettings::latency_ms),
    field("routing", OEMLINK_SETTING_OBJECT, 0, nullptr, "Routing table", &AcmeSettings::routing),
    field("models", OEMLINK_SETTING_OBJECT, 0, nullptr, "Models", &AcmeSettings::models),
    field("proxy", OEMLINK_SETTING_STRING, 0, nullptr, "Proxy URL", &AcmeSettings::proxy),
};

// Which member types a row type accepts is decided at compile time.
static_assert(detail::member_fits<std::string>(OEMLINK_SETTING_STRING));
static_assert(!detail::member_fits<const char*>(OEMLINK_SETTING_STRING));
static_assert(detail::member_fits<uint8_t>(OEMLINK_SETTING_INT));
static_assert(!detail::member_fits<bool>(OEMLINK_SETTING_INT));
static_assert(!detail::member_fits<double>(OEMLINK_SETTING_INT));
static_assert(detail::member_fits<float>(OEMLINK_SETTING_NUMBER));
static_assert(!detail::member_fits<int>(OEMLINK_SETTING_NUMBER));
static_assert(detail::member_fits<std::optional<bool>>(OEMLINK_SETTING_BOOL));
static_assert(detail::member_fits<std::chrono::microseconds>(OEMLINK_SETTING_DURATION_MS));
static_assert(!detail::member_fits<std::chrono::seconds>(OEMLINK_SETTING_DURATION_MS));
static_assert(detail::member_fits<JsonText>(OEMLINK_SETTING_OBJECT));
static_assert(!detail::member_fits<std::string>(OEMLINK_SETTING_OBJECT));
static_assert(!detail::member_fits<int>(static_cast<oemlink_setting_type>(99)));
static_assert(decltype(kAcme)::size() == 11);

TEST(SdkSettings, TheTableIsWhatTheHostReads) {
  ASSERT_EQ(kAcme.size(), 11u);
  const oemlink_setting& id = kAcme.data()[0];
  EXPECT_EQ(id.struct_size, sizeof(oemlink_setting));
  EXPECT_STREQ(id.name, "client_id");
  EXPECT_EQ(id.type, OEMLINK_SETTING_STRING);
  EXPECT_EQ(id.flags, OEMLINK_SETTING_REQUIRED | OEMLINK_SETTING_SECRET);
  EXPECT_EQ(id.default_value, nullptr);
  EXPECT_STREQ(id.description, "OAuth client id");
  EXPECT_STREQ(kAcme.rows()[6].name, "token_margin");
  EXPECT_EQ(kAcme.rows()[6].type, OEMLINK_SETTING_DURATION_MS);
  EXPECT_STREQ(kAcme.rows()[6].default_value, "5m");
  EXPECT_EQ(detail::settings_data(kAcme), kAcme.data());
  EXPECT_EQ(detail::settings_count(kAcme), 11u);
}

TEST(SdkSettings, ReadsWhatTheHostSendsIntoTheStruct) {
  // As core/config/driver_settings.cpp serialises it: defaults filled in, numbers as Boost.JSON
  // writes doubles, durations as integer milliseconds.
  const AcmeSettings s =
      kAcme.parse(R"({"client_id":"abc\u00e9","region":"us","page_size":-7,"retries":65535,)"
                  R"("ratio":4.2E1,"verbose":true,"token_margin":300000,"latency":250,)"
                  R"("routing":{"a":[1,2,{"b":null}]},"models":["3","Y\"x"]})");
  EXPECT_EQ(s.client_id, "abc\xc3\xa9");
  EXPECT_EQ(s.region, "us");
  EXPECT_EQ(s.page_size, -7);
  EXPECT_EQ(s.retries, 65535);
  EXPECT_EQ(s.ratio, 42.0);
  EXPECT_TRUE(s.verbose);
  EXPECT_EQ(s.token_margin, 5min);
  EXPECT_EQ(s.latency_ms, 250u);
  EXPECT_EQ(s.routing.text, R"({"a":[1,2,{"b":null}]})");
  EXPECT_EQ(s.models, (std::vector<std::string>{"3", "Y\"x"}));
  EXPECT_FALSE(s.proxy.has_value());
}

TEST(SdkSettings, ALeftOutSettingKeepsTheMembersInitializer) {
  const AcmeSettings s = kAcme.parse(R"({"client_id":"x","proxy":"http://p","region":null})");
  EXPECT_EQ(s.region, "eu");
  EXPECT_EQ(s.page_size, 50);
  EXPECT_EQ(s.ratio, 0.5);
  EXPECT_TRUE(s.models.empty());
  ASSERT_TRUE(s.proxy.has_value());
  EXPECT_EQ(*s.proxy, "http://p");
  EXPECT_EQ(kAcme.parse("").region, "eu");
  EXPECT_EQ(kAcme.parse(" {} ").page_size, 50);
}

TEST(SdkSettings, ErrorsNameTheSetting) {
  struct Case {
    const char* json;
    const char* message;
  };
  for (const Case& c : {
           Case{R"({"retries":70000})", "setting 'retries' must be between 0 and 65535"},
           Case{R"({"retries":-1})", "setting 'retries' must be between 0 and 65535"},
           Case{R"({"page_size":99999999999999999999})",
                "setting 'page_size' must be between -9223372036854775808 and "
                "9223372036854775807"},
           Case{R"({"page_size":1.5})", "setting 'page_size' is not an integer"},
           Case{R"({"page_size":"5"})", "setting 'page_size' is not an integer"},
           Case{R"({"ratio":"half"})", "setting 'ratio' is not a number"},
           Case{R"({"verbose":1})", "setting 'verbose' is not true or false"},
           Case{R"({"region":5})", "setting 'region' is not a string"},
           Case{R"({"routing":"x"})", "setting 'routing' is not a mapping or a list"},
           Case{R"({"models":["a",1]})", "setting 'models' is not a list of strings"},
           Case{R"({"models":{"a":"b"}})", "setting 'models' is not a list of strings"},
           Case{R"({"latency":-5})", "setting 'latency' must be between 0 and 4294967295"},
           Case{R"({"colour":"red"})", "unknown setting 'colour'"},
           Case{R"([1])", "settings must be a JSON object"},
       }) {
    SCOPED_TRACE(c.json);
    try {
      kAcme.parse(c.json);
      ADD_FAILURE() << "parse accepted it";
    } catch (const std::invalid_argument& e) {
      EXPECT_EQ(std::string(e.what()), c.message);
    }
  }
}

// A driver that takes its settings as the struct: driver.hpp parses them with its table.
class TypedDriver : public Driver {
 public:
  static inline AcmeSettings last;
  TypedDriver(Host, const AcmeSettings& s) { last = s; }
  std::unique_ptr<Connection> open(ConnHandle, const ConnInfo&) override { return nullptr; }
};

TEST(SdkSettings, ADriverConstructedFromTheStructGetsItParsed) {
  const oemlink_driver* d =
      make_descriptor<TypedDriver>("typed", "1.0.0", "t", OEMLINK_CAP_POLL, kAcme);
  EXPECT_EQ(d->settings, kAcme.data());
  EXPECT_EQ(d->setting_count, kAcme.size());
  {
    DriverUnderTest t(d, R"({"client_id":"id-1","token_margin":60000})");
    ASSERT_TRUE(t.created()) << t.create_error();
    EXPECT_EQ(TypedDriver::last.client_id, "id-1");
    EXPECT_EQ(TypedDriver::last.token_margin, 1min);
  }
  DriverUnderTest bad(d, R"({"client_id":7})");
  EXPECT_FALSE(bad.created());
  EXPECT_EQ(bad.create_error(), "setting 'client_id' is not a string");
}

// A driver that keeps the JSON constructor gets the text, whatever table it declares.
class TextDriver : public Driver {
 public:
  static inline std::string last;
  TextDriver(Host, std::string_view json) { last = std::string(json); }
  std::unique_ptr<Connection> open(ConnHandle, const ConnInfo&) override { return nullptr; }
};

TEST(SdkSettings, ADriverConstructedFromTextGetsTheText) {
  const oemlink_driver* d =
      detail::describe<TextDriver>("text", "1.0.0", "t", OEMLINK_CAP_POLL, kAcme);
  EXPECT_EQ(d->setting_count, kAcme.size());
  DriverUnderTest t(d, R"({"anything": 1})");
  ASSERT_TRUE(t.created()) << t.create_error();
  EXPECT_EQ(TextDriver::last, R"({"anything": 1})");
}

}  // namespace
}  // namespace oemlink::test
