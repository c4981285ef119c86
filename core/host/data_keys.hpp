// The data keys of the outbox and the secret store, each sealed under the deployment's KEK in
// its own file of the data dir. One opener for the daemon and the CLI, so the KEK is read, used
// and dropped in one place.
#pragma once

#include "core/config/config.hpp"
#include "core/store/outbox_store.hpp"

namespace oemlink::host {

enum class DataKeyPurpose { outbox, secrets };

// Loads the configured KEK, then unseals the purpose's key file (creating it on first use).
// The purpose is bound into the sealing, so the two key files cannot be swapped. Throws
// std::runtime_error naming the KEK source or the key file. The key is in locked memory.
[[nodiscard]] LockedDataKey open_sealed_data_key(const config::Config& cfg, DataKeyPurpose purpose);

}  // namespace oemlink::host
