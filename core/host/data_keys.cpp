#include "core/host/data_keys.hpp"

#include "core/common/data_dir.hpp"
#include "core/host/vault_wiring.hpp"
#include "core/vault/kek_source.hpp"

#include <stdexcept>

namespace oemlink::host {

LockedDataKey open_sealed_data_key(const config::Config& cfg, DataKeyPurpose purpose) {
  DataDir dir(cfg.data_dir);
  vault::Kek kek = vault::load_kek(vault_config_from(cfg).kek);
  if (purpose == DataKeyPurpose::secrets)
    return store::load_or_create_sealed_data_key(dir.secrets_key(), kek.get(), "secrets");
  return store::load_or_create_sealed_data_key(dir.outbox_key(), kek.get(), "outbox");
}

}  // namespace oemlink::host
