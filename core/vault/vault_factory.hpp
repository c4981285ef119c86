// Opens the configured KeyVault: the sealed seed unsealed into this process (default), or a
// client of a separate oemlink-keyd process holding it.
#pragma once

#include <chrono>
#include <filesystem>

#include "core/vault/kek_source.hpp"
#include "core/vault/key_vault.hpp"

namespace oemlink::vault {

struct VaultConfig {
  enum class Backend { in_process, keyd };

  // in_process: the sealed seed file and where its KEK comes from.
  std::filesystem::path file = "var/oemlink/vault.sealed";
  KekSourceConfig kek;
  Backend backend = Backend::in_process;
  // keyd: the socket oemlink-keyd listens on (file and kek are then keyd's business).
  std::filesystem::path keyd_socket;
  std::chrono::milliseconds keyd_timeout{5'000};
  // in_process: derived child keys kept in locked memory (0 disables the cache).
  size_t cache_entries = 4096;
};

// in_process: loads the KEK, unseals `file` (wiping the KEK afterwards). keyd: connects once to
// check keyd is there. Throws VaultError naming the file, KEK source or socket.
[[nodiscard]] KeyVaultPtr open_vault(const VaultConfig& config);

}  // namespace oemlink::vault
