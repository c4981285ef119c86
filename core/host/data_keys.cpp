#include "core/host/data_keys.hpp"

#include "core/common/data_dir.hpp"
#include "core/vault/kek_source.hpp"

#include <stdexcept>

namespace oemlink::host {

KekSourceConfig data_kek_source(const config::Config& cfg) {
  return cfg.data_kek.value_or(cfg.vault.kek);
}

LockedDataKey open_sealed_data_key(const config::Config& cfg, DataKeyPurpose purpose) {
  DataDir dir(cfg.data_dir);
  const KekSourceConfig source = data_kek_source(cfg);
  vault::Kek kek = vault::load_kek(source);
  const bool secrets = purpose == DataKeyPurpose::secrets;
  try {
    return secrets ? store::load_or_create_sealed_data_key(dir.secrets_key(), kek.get(), "secrets")
                   : store::load_or_create_sealed_data_key(dir.outbox_key(), kek.get(), "outbox");
  } catch (const store::SealedKeyMismatch& e) {
    if (!cfg.data_kek) throw;
    // The likely story: the data dir predates data_kek, so its keys are sealed under the seed
    // KEK. Say so, and how to move them over, instead of a bare "wrong key".
    const std::string file = (secrets ? dir.secrets_key() : dir.outbox_key()).string();
    throw std::runtime_error(
        std::string(e.what()) + ". The data keys are sealed under another key than data_kek (" +
        vault::describe(source) +
        "): a data dir from before data_kek existed has them sealed under the seed KEK "
        "(vault.kek). With the daemon stopped, reseal them once under data_kek with `oemlink "
        "data-keys reseal --config " +
        cfg.source.string() +
        " --from-kek-env NAME | --from-kek-file PATH | --from-kek-command CMD`, giving the KEK "
        "that sealed " +
        file);
  }
}

}  // namespace oemlink::host
