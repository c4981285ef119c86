#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/cli/commands.hpp"
#include "core/cli/known_connections.hpp"
#include "core/common/data_dir.hpp"
#include "core/common/kek_source_config.hpp"
#include "core/config/config.hpp"
#include "core/crypto/secp256k1_signer.hpp"
#include "core/host/data_dir_lock.hpp"
#include "core/vault/in_process_vault.hpp"
#include "core/vault/kek_source.hpp"
#include "core/vault/sealed_seed.hpp"
#include "core/vault/vault_factory.hpp"

namespace oemlink::cli {
namespace {

namespace v = oemlink::vault;

constexpr const char* kKeysDetails =
    "Output holds addresses only, never keys. Exit status: 0 success, 1 failure, 2 usage error.";

constexpr const char* kInitDetails =
    R"(Creates a vault holding a new random master seed (OS CSPRNG), sealed with the KEK, and
prints the address of child 0. Refuses to replace an existing vault unless --force is given: a
new seed changes every connection's address and orphans the synthetic devices minted with the
old one.)";

constexpr const char* kImportDetails =
    R"(Seals an existing master seed, so addresses minted elsewhere (for example by DIMO's own
signer) stay the same. FILE holds exactly 64 hex characters (32 bytes), optionally followed by a
line ending; nothing else is accepted and its content is never printed. Prints the address of
child 0 so it can be compared with the old signer's. Refuses to replace an existing vault unless
--force.)";

constexpr const char* kAddressDetails =
    "Prints the Ethereum address (EIP-55) of key child m/N' (0 <= N < 2^31).";

constexpr const char* kListDetails =
    R"(Prints connection id, key_child, address and state for every connection: those of the
connection store (<data_dir>/connections.db: linked and API-added cars too, revoked ones
included; read only) and the configuration's not stored yet.
Exit 1 if two connections share a key_child.)";

// What the keys subcommands share; each declares the options it accepts.
struct Options {
  // The default data dir's vault, as when no configuration places it elsewhere.
  std::filesystem::path vault = DataDir(DataDir::kDefaultRoot).vault_sealed();
  std::string kek_env, kek_file, kek_command;  // at most one; see kek_source()
  bool force = false;
  std::filesystem::path seed_file;
  std::string config;
  uint32_t child = 0;
};

// The KEK source the options name; none: $OEMLINK_KEK.
KekSourceConfig kek_source(const Options& o) {
  KekSourceConfig kek;
  if (!o.kek_env.empty()) {
    kek.kind = KekSourceConfig::Kind::env;
    kek.value = o.kek_env;
  } else if (!o.kek_file.empty()) {
    kek.kind = KekSourceConfig::Kind::file;
    kek.value = o.kek_file;
  } else if (!o.kek_command.empty()) {
    kek.kind = KekSourceConfig::Kind::command;
    kek.value = o.kek_command;
  }
  return kek;
}

// --vault and the three KEK sources, of which at most one may be given.
void add_vault_options(CLI::App& cmd, Options& o) {
  cmd.add_option("--vault", o.vault, "the sealed seed file")
      ->type_name("FILE")
      ->capture_default_str();
  const std::string group = "Key-encryption key (KEK; default: $OEMLINK_KEK)";
  CLI::Option* env =
      cmd.add_option("--kek-env", o.kek_env, "read the KEK (64 hex chars) from variable NAME");
  CLI::Option* file = cmd.add_option(
      "--kek-file", o.kek_file, "read the KEK from a file (64 hex chars, mode 0600 or stricter)");
  CLI::Option* command = cmd.add_option(
      "--kek-command", o.kek_command, "run `/bin/sh -c CMD`; its stdout is the KEK (64 hex chars)");
  env->type_name("NAME");
  file->type_name("PATH");
  command->type_name("CMD");
  for (CLI::Option* source : {env, file, command}) source->group(group)->check(not_empty);
  env->excludes(file)->excludes(command);
  file->excludes(command);
}

void add_force_option(CLI::App& cmd, Options& o) {
  cmd.add_flag("--force", o.force, "replace an existing vault (a new seed changes every address)");
}

v::KeyVaultPtr open_in_process(const Options& o) {
  v::VaultConfig cfg;
  cfg.file = o.vault;
  cfg.kek = kek_source(o);
  cfg.cache_entries = 0;  // one-shot lookups
  return v::open_vault(cfg);
}

// With the KEK already loaded: a KEK command runs once per invocation.
void print_child0(const Options& o, const v::Kek& kek) {
  const auto vault = std::make_unique<v::InProcessVault>(v::unseal_vault(o.vault, kek), 0);
  std::printf("child 0 address: %s\n", crypto::to_checksum_address(vault->address(0)).c_str());
}

// A new seed under a running daemon would change every car's address while it still signs with
// the old one: init and import take the lock of the directory the vault lives in (the data dir,
// in the default layout), as the daemon does.
host::DataDirLock lock_vault_dir(const Options& o, const char* what) {
  return host::DataDirLock(DataDir(o.vault.has_parent_path() ? o.vault.parent_path() : "."), what);
}

int keys_init(const Options& o) {
  const host::DataDirLock lock = lock_vault_dir(o, "");
  const v::Kek kek = v::load_kek(kek_source(o));
  v::create_random_vault(o.vault, kek, o.force ? v::Overwrite::allow : v::Overwrite::refuse);
  std::printf("created vault %s (new random seed)\n", o.vault.c_str());
  print_child0(o, kek);
  return kExitOk;
}

int keys_import(const Options& o) {
  const host::DataDirLock lock = lock_vault_dir(o, "");
  const v::Kek kek = v::load_kek(kek_source(o));
  v::import_vault(o.vault, o.seed_file, kek, o.force ? v::Overwrite::allow : v::Overwrite::refuse);
  std::printf("imported seed into vault %s\n", o.vault.c_str());
  print_child0(o, kek);
  return kExitOk;
}

int keys_address(const Options& o) {
  const auto vault = open_in_process(o);
  std::printf("%s\n", crypto::to_checksum_address(vault->address(o.child)).c_str());
  return kExitOk;
}

int keys_list(const Options& o) {
  const config::Config cfg = config::load_config_file(o.config);
  const auto vault = open_in_process(o);
  int rc = kExitOk;
  std::map<uint32_t, std::string> first_user;
  std::printf("%-24s %-10s %-42s %s\n", "CONNECTION", "KEY_CHILD", "ADDRESS", "STATE");
  for_each_known_connection(cfg, [&](const KnownConnection& c) {
    std::printf("%-24s %-10u %-42s %s\n", c.id.c_str(), c.key_child,
                crypto::to_checksum_address(vault->address(c.key_child)).c_str(), c.state.c_str());
    auto [it, fresh] = first_user.emplace(c.key_child, c.id);
    if (!fresh) {
      std::fprintf(stderr, "error: connections '%s' and '%s' share key_child %u\n",
                   it->second.c_str(), c.id.c_str(), c.key_child);
      rc = kExitFailure;
    }
    return true;
  });
  return rc;
}

}  // namespace

void add_keys_commands(CommandLine& cli) {
  CLI::App* keys = cli.add_group(
      "keys", "create or import the master seed; print addresses (never keys)", kKeysDetails);
  // VaultError and ConfigError texts name files, sources and child numbers, never key bytes, so
  // the command line may print them as they are.
  auto o = std::make_shared<Options>();

  CLI::App* init =
      cli.add_command(*keys, "init", "create a vault with a new random seed", kInitDetails);
  add_vault_options(*init, *o);
  add_force_option(*init, *o);
  cli.on(init, [o] { return keys_init(*o); });

  CLI::App* import =
      cli.add_command(*keys, "import", "seal an existing seed (64 hex chars)", kImportDetails);
  import->add_option("--seed-file", o->seed_file, "the seed, 64 hex characters")
      ->type_name("FILE")
      ->required();
  add_vault_options(*import, *o);
  add_force_option(*import, *o);
  cli.on(import, [o] { return keys_import(*o); });

  CLI::App* address =
      cli.add_command(*keys, "address", "print the address of key child N", kAddressDetails);
  address->add_option("N", o->child, "the key child, 0 to 2147483647")
      ->required()
      ->check(CLI::Range(uint32_t{0}, uint32_t{0x7fff'ffff}, "N"));
  add_vault_options(*address, *o);
  cli.on(address, [o] { return keys_address(*o); });

  CLI::App* list =
      cli.add_command(*keys, "list", "print each connection's key child and address", kListDetails);
  add_config_option(*list, o->config, "the configuration whose connections to list")->required();
  add_vault_options(*list, *o);
  cli.on(list, [o] { return keys_list(*o); });
}

}  // namespace oemlink::cli
