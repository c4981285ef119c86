#include "core/host/vault_wiring.hpp"

#include "core/common/data_dir.hpp"
#include "core/common/hex.hpp"
#include "core/common/locked_buffer.hpp"
#include "core/common/private_files.hpp"
#include "core/common/secure_wipe.hpp"
#include "core/vault/claimed_child_vault.hpp"
#include "core/vault/sealed_seed.hpp"

#include <openssl/rand.h>
#include <spdlog/spdlog.h>

#include <filesystem>

namespace oemlink::host {
namespace fs = std::filesystem;

vault::VaultConfig vault_config_from(const config::Config& cfg) {
  vault::VaultConfig v;
  v.file = cfg.vault.file;
  v.keyd_socket = cfg.vault.keyd_socket;
  if (cfg.vault.keyd_uid != config::kKeydSameUid) v.keyd_uid = cfg.vault.keyd_uid;
  // In process, the vault enforces the registry in the data dir; with keyd, keyd owns it.
  v.registry = DataDir(cfg.data_dir).keys_db();
  v.backend = cfg.vault.backend == config::VaultSettings::Backend::keyd
                  ? vault::VaultConfig::Backend::keyd
                  : vault::VaultConfig::Backend::in_process;
  v.kek = cfg.vault.kek;
  return v;
}

namespace {

// A fresh 64-hex-character KEK in a new 0600 file (never replaces one). Key and text stay in
// locked memory.
void create_kek_file(const fs::path& path) {
  LockedDataKey key;
  if (RAND_bytes(key.get().data(), static_cast<int>(key.get().size())) != 1)
    throw vault::VaultError("cannot create KEK file " + path.string() + ": no randomness");
  LockedBuffer text(2 * key.get().size() + 1);
  write_hex(key.get(), text.span());
  text.data()[text.size() - 1] = '\n';
  bool written = false;
  try {
    written = write_private_file(path, text.span(), IfExists::keep);
  } catch (const FileError& e) {
    throw vault::VaultError(std::string("cannot create KEK file: ") + e.what());
  }
  if (!written) throw vault::VaultError("cannot create KEK file " + path.string() + ": it exists");
}

}  // namespace

vault::KeyVaultPtr open_configured_vault(const config::Config& cfg) {
  vault::VaultConfig v = vault_config_from(cfg);
  if (cfg.vault.create_if_missing && v.backend == vault::VaultConfig::Backend::in_process &&
      !fs::exists(v.file)) {
    // A new seed over existing claims would silently change every car's address.
    vault::refuse_missing_vault_with_claims(v.file, v.registry);
    if (v.kek.kind == KekSourceConfig::Kind::file && !fs::exists(v.kek.value)) {
      create_kek_file(v.kek.value);
      spdlog::warn(
          "vault: created KEK file {} (vault.create_if_missing); keep the KEK away from "
          "the data dir in production",
          v.kek.value);
    }
    vault::Kek kek = vault::load_kek(v.kek);
    vault::create_random_vault(v.file, kek);
    spdlog::warn(
        "vault: created a new random seed in {} (vault.create_if_missing); production "
        "deployments create or import it with `oemlink keys`",
        v.file.string());
  }
  return vault::open_vault(v);
}

std::string VaultSigner::sign(uint32_t key_child, std::string_view data) {
  return crypto::signature_hex(vault_.sign_hash(key_child, crypto::keccak256(data)));
}

}  // namespace oemlink::host
