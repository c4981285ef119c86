#include "core/config/tables.hpp"
#include "core/config/value_checks.hpp"

namespace oemlink::config {
namespace {

const Setting<ConnectionConfig> kRows[] = {
    {{.key = "id",
      .type = SettingType::string,
      .flags = kRequired,
      .description = "the connection's name in logs, status and MQTT topics; unique",
      .check = {is_connection_id, "must match [A-Za-z0-9_.:-]+"},
      .shape = "`[A-Za-z0-9_.:-]+`"},
     &ConnectionConfig::id},
    {{.key = "driver",
      .type = SettingType::string,
      .flags = kRequired,
      .description = "a configured driver's `name`"},
     &ConnectionConfig::driver},
    {{.key = "vin",
      .type = SettingType::string,
      .default_note = "empty",
      .description = "the car's vehicle identification number",
      .check = {is_vin_or_empty, "a VIN is 17 characters of 0-9 and A-Z without I, O and Q"},
      .shape = "17 of `0-9A-Z` without `I O Q`"},
     &ConnectionConfig::vin},
    {{.key = "identifiers",
      .type = SettingType::string_map,
      .default_note = "empty",
      .description = "OEM-side ids, e.g. `tesla_id`"},
     &ConnectionConfig::identifiers},
    {{.key = "vehicle_token_id",
      .type = SettingType::integer,
      .default_value = "0",
      .description = "DIMO vehicle NFT id"},
     &ConnectionConfig::vehicle_token_id},
    {{.key = "synthetic_token_id",
      .type = SettingType::integer,
      .default_value = "0",
      .description = "DIMO synthetic device NFT id"},
     &ConnectionConfig::synthetic_token_id},
    // One key for two cars would make their events indistinguishable to DIMO: the loader
    // also checks that no two connections share a number.
    {{.key = "key_child",
      .type = SettingType::integer,
      .flags = kRequired,
      .description = "BIP-32 hardened child for this car's signing key; unique",
      .range = {0, 2147483647.0,
                "must be below 2^31 (2147483648): it becomes a hardened BIP-32 child", "< 2^31"}},
     &ConnectionConfig::key_child},
    {{.key = "poll_interval",
      .type = SettingType::duration,
      .default_note = "the driver's",
      .description = "overrides the driver's `poll_interval` for this car",
      .range = kPositive},
     &ConnectionConfig::poll_interval},
};

}  // namespace

const SettingBlock<ConnectionConfig> kConnectionBlock{
    .path = "connections[]",
    .intro = "A list; one entry per linked car.",
    .rows = kRows,
};

}  // namespace oemlink::config
