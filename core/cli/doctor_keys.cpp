// The KEKs open what they seal: the vault's seed (through the vault factory, as `run` opens it,
// dropped at once), or with `backend: keyd` keyd answers; then the outbox's and the secret
// store's data keys under the data KEK. Files not created yet pass with a note: the first run
// creates them. Errors name the file or KEK source (describe()), never a value.
#include "core/cli/doctor.hpp"
#include "core/common/data_dir.hpp"
#include "core/host/data_keys.hpp"
#include "core/host/vault_wiring.hpp"
#include "core/vault/kek_source.hpp"

#include <filesystem>

namespace oemlink::cli {
namespace fs = std::filesystem;

namespace {

void check_vault(const config::Config& cfg, DoctorReport& report) {
  vault::VaultConfig v = host::vault_config_from(cfg);
  if (v.backend == vault::VaultConfig::Backend::keyd) {
    try {
      (void)vault::open_vault(v);  // connects once, checks keyd's uid
      report.add("vault", CheckResult::pass, "oemlink-keyd answers at " + v.keyd_socket.string());
    } catch (const std::exception& e) {
      report.add("vault", CheckResult::fail, e.what());
    }
    return;
  }
  if (!fs::exists(v.file) && cfg.vault.create_if_missing) {
    report.add("vault", CheckResult::warn,
               v.file.string() +
                   " does not exist yet: the first run creates a new seed "
                   "(vault.create_if_missing; production imports one with `oemlink "
                   "keys`)");
    return;
  }
  // No registry: the seed is unsealed and dropped, and keys.db is neither opened nor migrated.
  v.registry.clear();
  v.cache_entries = 0;
  try {
    vault::KeyVaultPtr opened = vault::open_vault(v);
    opened.reset();
    report.add("vault", CheckResult::pass,
               v.file.string() + " opens with " + vault::describe(v.kek));
  } catch (const std::exception& e) {
    report.add("vault", CheckResult::fail, e.what());
  }
}

void check_data_key(const config::Config& cfg, host::DataKeyPurpose purpose, DoctorReport& report) {
  const DataDir dir(cfg.data_dir);
  const bool outbox = purpose == host::DataKeyPurpose::outbox;
  const fs::path file = outbox ? dir.outbox_key() : dir.secrets_key();
  const std::string check = outbox ? "outbox key" : "secrets key";
  const KekSourceConfig source = host::data_kek_source(cfg);
  // Unsealing an absent file would create it; doctor creates nothing.
  if (!fs::exists(file)) {
    report.add(check, CheckResult::pass,
               file.string() + " does not exist yet (created on first use under " +
                   vault::describe(source) + ")");
    return;
  }
  try {
    (void)host::open_sealed_data_key(cfg, purpose);
    report.add(check, CheckResult::pass, file.string() + " opens with " + vault::describe(source));
  } catch (const std::exception& e) {
    report.add(check, CheckResult::fail, e.what());
  }
}

}  // namespace

void doctor_keys(DoctorContext& ctx, DoctorReport& report) {
  if (!ctx.cfg) {
    for (const char* check : {"vault", "outbox key", "secrets key"})
      report.add(check, CheckResult::skip, kNoConfig);
    return;
  }
  check_vault(*ctx.cfg, report);
  check_data_key(*ctx.cfg, host::DataKeyPurpose::outbox, report);
  check_data_key(*ctx.cfg, host::DataKeyPurpose::secrets, report);
}

}  // namespace oemlink::cli
