// Opens the configured KeyVault: the sealed seed unsealed into this process (default), or a
// client of a separate oemlink-keyd process holding it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>

#include "core/vault/kek_source.hpp"
#include "core/vault/key_vault.hpp"

namespace oemlink::vault {

struct VaultConfig {
  enum class Backend { in_process, keyd };

  // in_process: the sealed seed file and where its KEK (the seed KEK) comes from.
  std::filesystem::path file = "var/oemlink/vault.sealed";
  KekSourceConfig kek;
  // in_process: the child registry the vault enforces (ClaimedChildVault). Empty: a one-shot
  // tool's vault that answers for any child and claims nothing (`oemlink keys`).
  std::filesystem::path registry;
  Backend backend = Backend::in_process;
  // keyd: the socket oemlink-keyd listens on (file, kek and registry are then keyd's business),
  // and the uid keyd must run as (checked with SO_PEERCRED; unset: this process's own uid).
  std::filesystem::path keyd_socket;
  std::optional<uid_t> keyd_uid;
  std::chrono::milliseconds keyd_timeout{5'000};
  // in_process: derived child keys kept in locked memory (0 disables the cache).
  size_t cache_entries = 4096;
};

// in_process: refuses a missing vault while the registry holds claims, loads the KEK, unseals
// `file` (wiping the KEK afterwards) and checks the seed against the registry's fingerprint.
// keyd: connects once to check keyd is there and runs as the expected uid. Throws VaultError
// naming the file, KEK source, registry or socket.
[[nodiscard]] KeyVaultPtr open_vault(const VaultConfig& config);

}  // namespace oemlink::vault
