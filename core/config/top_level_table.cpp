#include "core/config/tables.hpp"

namespace oemlink::config {
namespace {

const Setting<Config> kRows[] = {
    {{.key = "data_dir",
      .type = SettingType::path,
      .flags = kNotEmpty,
      .default_note = "`./var/oemlink`",
      .description = "state: outbox, secrets, event files; relative to the config file's "
                     "directory"},
     &Config::data_dir},
    {{.key = "logging", .type = SettingType::block, .description = "see `logging`"}, {}},
    {{.key = "http", .type = SettingType::block, .description = "see `http`"}, {}},
    {{.key = "schedule", .type = SettingType::block, .description = "see `schedule`"}, {}},
    {{.key = "quarantine", .type = SettingType::block, .description = "see `quarantine`"}, {}},
    {{.key = "dimo", .type = SettingType::block, .description = "see `dimo`"}, {}},
    {{.key = "vault", .type = SettingType::block, .description = "see `vault`"}, {}},
    {{.key = "data_kek",
      .type = SettingType::block,
      .default_note = "`vault.kek` (in_process only)",
      .description = "the data KEK sealing the outbox and secret-store keys: see `data_kek`"},
     {}},
    {{.key = "outbox", .type = SettingType::block, .description = "see `outbox`"}, {}},
    {{.key = "drivers", .type = SettingType::list, .description = "see `drivers[]`"}, {}},
    {{.key = "connections", .type = SettingType::list, .description = "see `connections[]`"}, {}},
    {{.key = "sinks", .type = SettingType::list, .description = "see `sinks[]`"}, {}},
    {{.key = "listeners",
      .type = SettingType::block,
      .default_note = "none: no inbound HTTP",
      .description = "inbound HTTP (webhooks): see `listeners`"},
     {}},
    {{.key = "linking", .type = SettingType::block, .description = "see `linking`"}, {}},
};

}  // namespace

const SettingBlock<Config> kTopLevelBlock{
    .path = "",
    .intro = "The document's top level.",
    .rows = kRows,
};

}  // namespace oemlink::config
