// Connects the configuration's `vault:` section to core/vault, and the vault to the pipeline's
// signing hook.
#pragma once

#include "core/config/config.hpp"
#include "core/pipeline/event_builder.hpp"
#include "core/vault/key_vault.hpp"
#include "core/vault/vault_factory.hpp"

namespace oemlink::host {

[[nodiscard]] vault::VaultConfig vault_config_from(const config::Config& cfg);

// Opens the configured vault. With `vault.create_if_missing` (a development convenience, off by
// default) a missing KEK file and a missing sealed seed are created first, with a warning that
// says so, unless the registry holds claims (then the seed must be restored, never replaced).
// Throws vault::VaultError naming the file, KEK source, registry or socket.
[[nodiscard]] vault::KeyVaultPtr open_configured_vault(const config::Config& cfg);

// Signs each event's `data` bytes: Keccak-256, then the connection's child key in the vault.
class VaultSigner final : public pipeline::DataSigner {
 public:
  explicit VaultSigner(vault::KeyVault& vault) : vault_(vault) {}
  std::string sign(uint32_t key_child, std::string_view data) override;

 private:
  vault::KeyVault& vault_;
};

}  // namespace oemlink::host
