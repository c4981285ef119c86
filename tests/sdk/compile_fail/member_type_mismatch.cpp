// Must not compile: a STRING setting declared on an int member.
#include <oemlink/settings.hpp>

struct Settings {
  int region = 0;
};
constexpr oemlink::SettingsTable kSettings{
    oemlink::field("region", OEMLINK_SETTING_STRING, 0, "eu", "API region", &Settings::region)};
