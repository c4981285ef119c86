#include "core/vault/vault_factory.hpp"

#include <memory>

#include "core/vault/claimed_child_vault.hpp"
#include "core/vault/in_process_vault.hpp"
#include "core/vault/keyd_client_vault.hpp"
#include "core/vault/sealed_seed.hpp"

namespace oemlink::vault {

KeyVaultPtr open_vault(const VaultConfig& config) {
  switch (config.backend) {
    case VaultConfig::Backend::in_process: {
      if (!config.registry.empty()) refuse_missing_vault_with_claims(config.file, config.registry);
      LockedBuffer seed = [&] {
        const Kek kek = load_kek(config.kek);
        return unseal_vault(config.file, kek);
      }();
      if (config.registry.empty())
        return std::make_unique<InProcessVault>(std::move(seed), config.cache_entries);
      return std::make_unique<ClaimedChildVault>(std::move(seed), config.cache_entries,
                                                 config.registry, config.file);
    }
    case VaultConfig::Backend::keyd: {
      if (config.keyd_socket.empty()) throw VaultError("vault backend keyd needs a socket path");
      auto client =
          std::make_unique<KeydClientVault>(KeydClientOptions{.socket = config.keyd_socket,
                                                              .timeout = config.keyd_timeout,
                                                              .server_uid = config.keyd_uid});
      client->check_reachable();
      return client;
    }
  }
  throw VaultError("unknown vault backend");
}

}  // namespace oemlink::vault
