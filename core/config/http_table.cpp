#include "core/config/tables.hpp"

namespace oemlink::config {
namespace {

const Setting<HttpConfig> kRows[] = {
    {{.key = "default_timeout",
      .type = SettingType::duration,
      .default_value = "30s",
      .description = "per request when the driver sets none",
      .range = kPositive},
     &HttpConfig::default_timeout},
    {{.key = "allow_plain_http",
      .type = SettingType::boolean,
      .default_value = "false",
      .description = "allow `http://` URLs (tests, local mocks); without it they are refused"},
     &HttpConfig::allow_plain_http},
    // An input shipped next to the config, like ${file:...} secrets.
    {{.key = "ca_file",
      .type = SettingType::path,
      .default_note = "empty: system store",
      .description = "extra CA bundle"},
     &HttpConfig::ca_file},
    {{.key = "max_connections_per_host",
      .type = SettingType::integer,
      .default_value = "32",
      .description = "connections kept open to one host",
      .range = kAtLeastOne},
     &HttpConfig::max_connections_per_host},
};

}  // namespace

const SettingBlock<HttpConfig> kHttpBlock{
    .path = "http",
    .intro = "The HTTP client that drivers use through the host.",
    .rows = kRows,
};

}  // namespace oemlink::config
