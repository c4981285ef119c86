// Must not compile: two settings called the same.
#include <oemlink/settings.hpp>

struct Settings {
  int a = 0;
  int b = 0;
};
constexpr oemlink::SettingsTable kSettings{
    oemlink::field("n", OEMLINK_SETTING_INT, 0, "1", "first", &Settings::a),
    oemlink::field("n", OEMLINK_SETTING_INT, 0, "2", "second", &Settings::b)};
