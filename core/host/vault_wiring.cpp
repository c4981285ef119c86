#include "core/host/vault_wiring.hpp"

#include "core/vault/sealed_seed.hpp"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <filesystem>

namespace oemlink::host {
namespace fs = std::filesystem;

vault::VaultConfig vault_config_from(const config::Config& cfg) {
  vault::VaultConfig v;
  v.file = cfg.vault.file;
  v.keyd_socket = cfg.vault.keyd_socket;
  v.backend = cfg.vault.backend == config::VaultSettings::Backend::keyd
                  ? vault::VaultConfig::Backend::keyd
                  : vault::VaultConfig::Backend::in_process;
  switch (cfg.vault.kek.kind) {
    case config::KekSourceConfig::Kind::env:
      v.kek.kind = vault::KekSourceConfig::Kind::env;
      v.kek.env_name = cfg.vault.kek.value;
      break;
    case config::KekSourceConfig::Kind::file:
      v.kek.kind = vault::KekSourceConfig::Kind::file;
      v.kek.file = cfg.vault.kek.value;
      break;
    case config::KekSourceConfig::Kind::command:
      v.kek.kind = vault::KekSourceConfig::Kind::command;
      v.kek.command = cfg.vault.kek.value;
      break;
  }
  return v;
}

namespace {

// A fresh 64-hex-character KEK in a new 0600 file (O_EXCL: never replaces one).
void create_kek_file(const fs::path& path) {
  unsigned char key[32];
  if (RAND_bytes(key, sizeof key) != 1)
    throw vault::VaultError("cannot create KEK file " + path.string() + ": no randomness");
  static constexpr char kHex[] = "0123456789abcdef";
  char text[65];
  for (int i = 0; i < 32; ++i) {
    text[2 * i] = kHex[key[i] >> 4];
    text[2 * i + 1] = kHex[key[i] & 15];
  }
  text[64] = '\n';
  OPENSSL_cleanse(key, sizeof key);
  std::error_code ec;
  if (path.has_parent_path()) fs::create_directories(path.parent_path(), ec);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  bool ok = fd >= 0 && ::write(fd, text, sizeof text) == static_cast<ssize_t>(sizeof text) &&
            ::fsync(fd) == 0;
  OPENSSL_cleanse(text, sizeof text);
  if (fd >= 0) ::close(fd);
  if (!ok) throw vault::VaultError("cannot create KEK file " + path.string());
}

}  // namespace

vault::KeyVaultPtr open_configured_vault(const config::Config& cfg) {
  vault::VaultConfig v = vault_config_from(cfg);
  if (cfg.vault.create_if_missing && v.backend == vault::VaultConfig::Backend::in_process &&
      !fs::exists(v.file)) {
    if (v.kek.kind == vault::KekSourceConfig::Kind::file && !fs::exists(v.kek.file)) {
      create_kek_file(v.kek.file);
      spdlog::warn(
          "vault: created KEK file {} (vault.create_if_missing); keep the KEK away from "
          "the data dir in production",
          v.kek.file.string());
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
