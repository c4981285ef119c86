// `oemlink data-keys reseal`: moves a data dir's sealed data keys (outbox.key, secrets.key) from
// the KEK that sealed them to the configured data KEK. The one-shot upgrade for data dirs from
// before `data_kek`, whose keys were sealed under the seed KEK.
#include "core/cli/commands.hpp"
#include "core/cli/driver_check.hpp"
#include "core/common/data_dir.hpp"
#include "core/host/data_dir_lock.hpp"
#include "core/host/data_keys.hpp"
#include "core/store/outbox_store.hpp"
#include "core/vault/kek_source.hpp"

#include <cstdio>
#include <memory>

namespace oemlink::cli {
namespace {

constexpr const char* kDataKeysDetails =
    R"(The outbox's and the secret store's data keys are sealed under the data KEK (data_kek, or
vault.kek when data_kek is not configured). Exit status: 0 done, 1 failure, 2 usage error.)";

constexpr const char* kResealDetails =
    R"(Unseals outbox.key and secrets.key of the configuration's data dir with the old KEK given
here and seals the same data keys under the configured data KEK, each file replaced atomically.
Run it once when adding data_kek to a deployment whose data dir was sealed under the seed KEK
(vault.kek): give that KEK as the old one. A file already sealed under the data KEK is left
alone, so running it again is harmless. Refuses while oemlink runs on the data dir.
The KEK command line is visible to other users in `ps`; keep secrets out of it.
Exit status: 0 done, 1 failure, 2 usage error.)";

struct ResealOptions {
  std::string config;
  std::string from_env, from_file, from_command;  // exactly one
};

KekSourceConfig old_kek_source(const ResealOptions& o) {
  if (!o.from_env.empty()) return {KekSourceConfig::Kind::env, o.from_env};
  if (!o.from_file.empty()) return {KekSourceConfig::Kind::file, o.from_file};
  return {KekSourceConfig::Kind::command, o.from_command};
}

const char* outcome_text(store::ResealOutcome outcome) {
  switch (outcome) {
    case store::ResealOutcome::no_file:
      return "not present, nothing to do";
    case store::ResealOutcome::already_sealed_under_new_kek:
      return "already sealed under the data KEK";
    case store::ResealOutcome::resealed:
      return "resealed under the data KEK";
  }
  return "";
}

int reseal(const ResealOptions& o) {
  if (o.from_env.empty() && o.from_file.empty() && o.from_command.empty()) {
    std::fprintf(stderr,
                 "oemlink data-keys reseal: give the KEK that sealed the data keys: "
                 "--from-kek-env NAME, --from-kek-file PATH or --from-kek-command CMD\n");
    return kExitUsage;
  }
  try {
    const config::Config cfg = load_config_or_default(o.config);
    const DataDir dir(cfg.data_dir);
    // The daemon holds its data keys open; swapping the files under it would leave the two out
    // of step until its next start.
    host::DataDirLock lock(dir, "oemlink data-keys reseal");
    const vault::Kek old_kek = vault::load_kek(old_kek_source(o));
    const vault::Kek new_kek = vault::load_kek(host::data_kek_source(cfg));
    const struct {
      std::filesystem::path file;
      const char* purpose;
    } keys[] = {{dir.outbox_key(), "outbox"}, {dir.secrets_key(), "secrets"}};
    for (const auto& k : keys) {
      const store::ResealOutcome outcome =
          store::reseal_data_key(k.file, old_kek.get(), new_kek.get(), k.purpose);
      std::printf("%s: %s\n", k.file.c_str(), outcome_text(outcome));
    }
    return kExitOk;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "oemlink data-keys reseal: %s\n", e.what());
    return kExitFailure;
  }
}

}  // namespace

void add_data_keys_commands(CommandLine& cli) {
  CLI::App* group =
      cli.add_group("data-keys", "reseal the outbox and secret-store keys", kDataKeysDetails);
  auto o = std::make_shared<ResealOptions>();
  CLI::App* cmd = cli.add_command(*group, "reseal", "move the data keys to the configured data KEK",
                                  kResealDetails);
  add_config_option(*cmd, o->config, "the configuration whose data dir to reseal");
  const std::string section = "The KEK that sealed them (exactly one)";
  CLI::Option* env = cmd->add_option("--from-kek-env", o->from_env, "read it from variable NAME")
                         ->type_name("NAME");
  CLI::Option* file = cmd->add_option("--from-kek-file", o->from_file, "read it from a 0600 file")
                          ->type_name("PATH");
  CLI::Option* command = cmd->add_option("--from-kek-command", o->from_command,
                                         "run `/bin/sh -c CMD`; its stdout is the KEK")
                             ->type_name("CMD");
  for (CLI::Option* source : {env, file, command}) source->group(section)->check(not_empty);
  env->excludes(file)->excludes(command);
  file->excludes(command);
  cli.on(cmd, [o] { return reseal(*o); });
}

}  // namespace oemlink::cli
