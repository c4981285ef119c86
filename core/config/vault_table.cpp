#include "core/config/tables.hpp"

namespace oemlink::config {
namespace {

constexpr std::string_view kBackends[] = {"in_process", "keyd"};

// Vault and socket are state, like sink files: they live with the data.
const Setting<VaultSettings> kRows[] = {
    {{.key = "file",
      .type = SettingType::path,
      .default_note = "`vault.sealed`",
      .description = "the seed, sealed with AES-256-GCM under the KEK",
      .base = PathBase::data_dir},
     &VaultSettings::file},
    {{.key = "kek",
      .type = SettingType::block,
      .default_note = "`{env: OEMLINK_KEK}`",
      .description = "where the key-encryption key comes from: see `vault.kek`"},
     {}},
    {{.key = "backend",
      .type = SettingType::choice,
      .default_value = "in_process",
      .description = "`keyd`: sign through a separate `oemlink-keyd` process, so the runtime "
                     "never holds the seed",
      .choices = kBackends},
     +[](VaultSettings& out, size_t choice) {
       out.backend =
           choice == 0 ? VaultSettings::Backend::in_process : VaultSettings::Backend::keyd;
     }},
    {{.key = "keyd_socket",
      .type = SettingType::path,
      .default_note = "`keyd.sock`",
      .description = "the keyd Unix socket (mode 0600, peer uid checked)",
      .base = PathBase::data_dir},
     &VaultSettings::keyd_socket},
    {{.key = "keyd_uid",
      .type = SettingType::integer,
      .default_note = "the host's own uid",
      .description = "keyd: the uid `oemlink-keyd` must run as; the host checks the socket's "
                     "peer (SO_PEERCRED) before sending anything. Start keyd with "
                     "`--host-uid` set to the host's uid",
      .range = {0, 4294967294.0, "must be a uid (0 .. 4294967294)", "0 .. 4294967294"}},
     &VaultSettings::keyd_uid},
    {{.key = "create_if_missing",
      .type = SettingType::boolean,
      .default_value = "false",
      .description = "development only: create a random seed, and a KEK file for a `kek.file` "
                     "source, on first start. Production: `oemlink keys init` or "
                     "`oemlink keys import --seed-file F`. Never creates a seed while the "
                     "registry (`keys.db`) holds claims: restore the old one instead"},
     &VaultSettings::create_if_missing},
};

const Setting<KekSourceKeys> kKekRows[] = {
    {{.key = "env",
      .type = SettingType::string,
      .flags = kNotEmpty,
      .default_note = "`OEMLINK_KEK`",
      .description = "an environment variable holding the key; read once, then removed from "
                     "the process environment (and from `/proc/<pid>/environ`)"},
     &KekSourceKeys::env},
    // A key file is an input kept next to the config, like ${file:...} secrets.
    {{.key = "file",
      .type = SettingType::path,
      .flags = kNotEmpty,
      .description = "a 0600 file holding the key"},
     &KekSourceKeys::file},
    {{.key = "command",
      .type = SettingType::string,
      .flags = kNotEmpty,
      .description = "a command that prints the key (a KMS or TPM client)"},
     &KekSourceKeys::command},
};

}  // namespace

const SettingBlock<VaultSettings> kVaultBlock{
    .path = "vault",
    .intro =
        "The key vault that signs every event. One sealed master seed per deployment; "
        "connection `key_child` N signs with BIP-32 child `m/N'`. Nothing reads the seed back "
        "(`oemlink keys` prints addresses only). Paths are under `data_dir`. The vault owns the "
        "child registry (`keys.db`): it signs only for children claimed by a connection and "
        "not retired, and refuses a seed whose child 0 differs from the one recorded at first "
        "use. `in_process` (the default) is for development and single-process deployments: "
        "one process holds the seed, its KEK and the drivers. `keyd` keeps the seed, its KEK "
        "and the registry in `oemlink-keyd` (ideally another uid); the host then needs "
        "`data_kek`.",
    .rows = kRows,
};

const SettingBlock<KekSourceKeys> kKekBlock{
    .path = "vault.kek",
    .intro =
        "Give exactly one key: where the 64-hex-character seed key-encryption key comes "
        "from. Only the in-process vault or `oemlink-keyd` reads it. "
        "`oemlink` reads a KEK only after making itself undumpable, with a core-file limit of 0 "
        "(as "
        "`oemlink-keyd` does), keeps it in locked memory, and never passes it to a child, an "
        "argument or a log. A `command` runs as `/bin/sh -c COMMAND`, whose command line every "
        "local user sees in `ps` while it runs: have the command read its credentials from a "
        "file or the environment, never put them in the command line.",
    .rows = kKekRows,
};

const SettingBlock<KekSourceKeys> kDataKekBlock{
    .path = "data_kek",
    .intro =
        "Give exactly one key: where the data key-encryption key comes from. It seals the "
        "data keys of the outbox (`outbox.key`) and of the OAuth secret store "
        "(`secrets.key`), so events and tokens at rest stay unreadable without it. Required "
        "with `vault.backend: keyd`, and it must differ from `vault.kek`: the host never "
        "loads the seed KEK then. Without it (`in_process` only) `vault.kek` seals the data "
        "keys too. A data dir whose keys were sealed under the seed KEK is moved over once "
        "with `oemlink data-keys reseal`.",
    .rows = kKekRows,
};

}  // namespace oemlink::config
