#include <charconv>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/cli/commands.hpp"
#include "core/common/kek_source_config.hpp"
#include "core/config/config.hpp"
#include "core/crypto/secp256k1_signer.hpp"
#include "core/vault/in_process_vault.hpp"
#include "core/vault/kek_source.hpp"
#include "core/vault/sealed_seed.hpp"
#include "core/vault/vault_factory.hpp"

namespace oemlink::cli {
namespace {

namespace v = oemlink::vault;

constexpr const char* kKekOptions = R"(key-encryption key (KEK; default: $OEMLINK_KEK):
  --kek-env NAME      read the KEK (64 hex chars) from environment variable NAME
  --kek-file PATH     read the KEK from a file (64 hex chars, mode 0600 or stricter)
  --kek-command CMD   run `/bin/sh -c CMD`; its stdout is the KEK (64 hex chars)
)";

constexpr const char* kKeysHelp = R"(usage: oemlink keys <command> [options]

commands:
  init [--vault FILE] [--force]                  create a vault with a new random seed
  import --seed-file FILE [--vault FILE] [--force]
                                                 seal an existing seed (64 hex chars)
  address N [--vault FILE]                       print the address of key child N
  list --config FILE [--vault FILE]              print each connection's key child and address

The vault file defaults to ./var/oemlink/vault.sealed. Output contains addresses only.
Run `oemlink keys <command> --help` for details.
Exit status: 0 success, 1 failure, 2 usage error.
)";

constexpr const char* kInitHelp = R"(usage: oemlink keys init [--vault FILE] [--force] [KEK option]

Creates a vault holding a new random master seed (OS CSPRNG), sealed with the KEK, and prints the
address of child 0. Refuses to replace an existing vault unless --force is given: a new seed
changes every connection's address and orphans the synthetic devices minted with the old one.

)";

constexpr const char* kImportHelp =
    R"(usage: oemlink keys import --seed-file FILE [--vault FILE] [--force] [KEK option]

Seals an existing master seed, so addresses minted elsewhere (for example by DIMO's own signer)
stay the same. FILE holds exactly 64 hex characters (32 bytes), optionally followed by a line
ending; nothing else is accepted and its content is never printed. Prints the address of child 0
so it can be compared with the old signer's. Refuses to replace an existing vault unless --force.

)";

constexpr const char* kAddressHelp = R"(usage: oemlink keys address N [--vault FILE] [KEK option]

Prints the Ethereum address (EIP-55) of key child m/N' (0 <= N < 2^31).

)";

constexpr const char* kListHelp =
    R"(usage: oemlink keys list --config FILE [--vault FILE] [KEK option]

Prints connection id, key_child and address for every connection in the configuration. Exit 1 if
two connections share a key_child.

)";

// Options shared by the subcommands; each subcommand says which ones it accepts.
struct Options {
  std::filesystem::path vault = "var/oemlink/vault.sealed";
  KekSourceConfig kek;
  bool force = false;
  std::filesystem::path seed_file;
  std::filesystem::path config;
  std::vector<std::string> positional;
  bool help = false;
};

enum class Accept : unsigned { force = 1, seed_file = 2, config = 4 };
constexpr unsigned operator|(Accept a, Accept b) {
  return static_cast<unsigned>(a) | static_cast<unsigned>(b);
}

// Returns an error text for a usage error, or nullopt.
std::optional<std::string> parse(const std::vector<std::string>& args, size_t first,
                                 unsigned accepted, Options& o) {
  int kek_flags = 0;
  for (size_t i = first; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      o.help = true;
      continue;
    }
    if (a == "--force" && (accepted & static_cast<unsigned>(Accept::force))) {
      o.force = true;
      continue;
    }
    if (!a.starts_with("--")) {
      o.positional.push_back(a);
      continue;
    }
    if (a == "--force") return "unknown option --force";
    if (i + 1 >= args.size()) return a + " needs a value";
    const std::string& value = args[++i];
    if (a == "--vault") {
      o.vault = value;
    } else if (a == "--kek-env") {
      o.kek.kind = KekSourceConfig::Kind::env;
      o.kek.value = value;
      ++kek_flags;
    } else if (a == "--kek-file") {
      o.kek.kind = KekSourceConfig::Kind::file;
      o.kek.value = value;
      ++kek_flags;
    } else if (a == "--kek-command") {
      o.kek.kind = KekSourceConfig::Kind::command;
      o.kek.value = value;
      ++kek_flags;
    } else if (a == "--seed-file" && (accepted & static_cast<unsigned>(Accept::seed_file))) {
      o.seed_file = value;
    } else if ((a == "--config" || a == "-c") &&
               (accepted & static_cast<unsigned>(Accept::config))) {
      o.config = value;
    } else {
      return "unknown option " + a;
    }
  }
  if (kek_flags > 1) return "give at most one of --kek-env, --kek-file, --kek-command";
  return std::nullopt;
}

int usage(const char* help, const std::string& why) {
  std::fprintf(stderr, "oemlink keys: %s\n\n%s%s", why.c_str(), help, kKekOptions);
  return 2;
}

int help(const char* text) {
  std::fputs(text, stdout);
  std::fputs(kKekOptions, stdout);
  return 0;
}

v::KeyVaultPtr open_in_process(const Options& o) {
  v::VaultConfig cfg;
  cfg.file = o.vault;
  cfg.kek = o.kek;
  cfg.cache_entries = 0;  // one-shot lookups
  return v::open_vault(cfg);
}

// With the KEK already loaded: a KEK command runs once per invocation.
void print_child0(const Options& o, const v::Kek& kek) {
  const auto vault = std::make_unique<v::InProcessVault>(v::unseal_vault(o.vault, kek), 0);
  std::printf("child 0 address: %s\n", crypto::to_checksum_address(vault->address(0)).c_str());
}

int keys_init(const std::vector<std::string>& args) {
  Options o;
  if (auto err = parse(args, 1, static_cast<unsigned>(Accept::force), o)) {
    return usage(kInitHelp, *err);
  }
  if (o.help) return help(kInitHelp);
  if (!o.positional.empty()) return usage(kInitHelp, "unexpected argument " + o.positional[0]);
  const v::Kek kek = v::load_kek(o.kek);
  v::create_random_vault(o.vault, kek, o.force ? v::Overwrite::allow : v::Overwrite::refuse);
  std::printf("created vault %s (new random seed)\n", o.vault.c_str());
  print_child0(o, kek);
  return 0;
}

int keys_import(const std::vector<std::string>& args) {
  Options o;
  if (auto err = parse(args, 1, Accept::force | Accept::seed_file, o)) {
    return usage(kImportHelp, *err);
  }
  if (o.help) return help(kImportHelp);
  if (!o.positional.empty()) return usage(kImportHelp, "unexpected argument " + o.positional[0]);
  if (o.seed_file.empty()) return usage(kImportHelp, "--seed-file is required");
  const v::Kek kek = v::load_kek(o.kek);
  v::import_vault(o.vault, o.seed_file, kek, o.force ? v::Overwrite::allow : v::Overwrite::refuse);
  std::printf("imported seed into vault %s\n", o.vault.c_str());
  print_child0(o, kek);
  return 0;
}

std::optional<uint32_t> parse_child(const std::string& s) {
  uint32_t n = 0;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc() || p != s.data() + s.size() || n >= 0x8000'0000u) return std::nullopt;
  return n;
}

int keys_address(const std::vector<std::string>& args) {
  Options o;
  if (auto err = parse(args, 1, 0, o)) return usage(kAddressHelp, *err);
  if (o.help) return help(kAddressHelp);
  if (o.positional.size() != 1) return usage(kAddressHelp, "expected one child number N");
  const auto child = parse_child(o.positional[0]);
  if (!child) return usage(kAddressHelp, "N must be a number from 0 to 2147483647");
  const auto vault = open_in_process(o);
  std::printf("%s\n", crypto::to_checksum_address(vault->address(*child)).c_str());
  return 0;
}

int keys_list(const std::vector<std::string>& args) {
  Options o;
  if (auto err = parse(args, 1, static_cast<unsigned>(Accept::config), o)) {
    return usage(kListHelp, *err);
  }
  if (o.help) return help(kListHelp);
  if (!o.positional.empty()) return usage(kListHelp, "unexpected argument " + o.positional[0]);
  if (o.config.empty()) return usage(kListHelp, "--config is required");
  const config::Config cfg = config::load_config_file(o.config);
  const auto vault = open_in_process(o);
  int rc = 0;
  std::map<uint32_t, std::string> first_user;
  std::printf("%-24s %-10s %s\n", "CONNECTION", "KEY_CHILD", "ADDRESS");
  for (const config::ConnectionConfig& c : cfg.connections) {
    std::printf("%-24s %-10u %s\n", c.id.c_str(), c.key_child,
                crypto::to_checksum_address(vault->address(c.key_child)).c_str());
    auto [it, fresh] = first_user.emplace(c.key_child, c.id);
    if (!fresh) {
      std::fprintf(stderr, "error: connections '%s' and '%s' share key_child %u\n",
                   it->second.c_str(), c.id.c_str(), c.key_child);
      rc = 1;
    }
  }
  return rc;
}

}  // namespace

int cmd_keys(const std::vector<std::string>& args) {
  if (args.empty()) {
    std::fputs(kKeysHelp, stderr);
    return 2;
  }
  const std::string& sub = args[0];
  if (sub == "--help" || sub == "-h" || sub == "help") {
    std::fputs(kKeysHelp, stdout);
    return 0;
  }
  try {
    if (sub == "init") return keys_init(args);
    if (sub == "import") return keys_import(args);
    if (sub == "address") return keys_address(args);
    if (sub == "list") return keys_list(args);
  } catch (const std::exception& e) {
    // VaultError and ConfigError texts name files, sources and child numbers, never key bytes.
    std::fprintf(stderr, "oemlink keys %s: %s\n", sub.c_str(), e.what());
    return 1;
  }
  std::fprintf(stderr, "oemlink keys: unknown command '%s'\n\n%s", sub.c_str(), kKeysHelp);
  return 2;
}

}  // namespace oemlink::cli
