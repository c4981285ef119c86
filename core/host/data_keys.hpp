// The data keys of the outbox and the secret store, each sealed under the deployment's data KEK
// in its own file of the data dir. One opener for the daemon and the CLI, so the data KEK is
// read, used and dropped in one place. The seed KEK (vault.kek) is never read here: with
// `vault.backend: keyd` only oemlink-keyd holds it.
#pragma once

#include "core/common/kek_source_config.hpp"
#include "core/config/config.hpp"
#include "core/store/outbox_store.hpp"

namespace oemlink::host {

enum class DataKeyPurpose { outbox, secrets };

// `data_kek`, or (in_process only; the loader refuses keyd without it) `vault.kek`.
[[nodiscard]] KekSourceConfig data_kek_source(const config::Config& cfg);

// Loads the data KEK, then unseals the purpose's key file (creating it on first use).
// The purpose is bound into the sealing, so the two key files cannot be swapped. Throws
// std::runtime_error naming the KEK source or the key file (the key in locked memory); a key file
// sealed under another KEK (a data dir from before `data_kek`) is refused with the `oemlink
// data-keys reseal` command that moves it over.
[[nodiscard]] LockedDataKey open_sealed_data_key(const config::Config& cfg, DataKeyPurpose purpose);

}  // namespace oemlink::host
