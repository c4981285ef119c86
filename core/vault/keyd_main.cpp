// oemlink-keyd: holds the unsealed master seed in its own process and answers address/sign
// requests over a Unix socket, so the host (and its third-party drivers) never map the seed.
#include "core/common/log_line_format.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <charconv>
#include <cstdio>
#include <string>
#include <vector>

#include "core/common/kek_source_config.hpp"
#include "core/common/process_hardening.hpp"
#include "core/common/secure_wipe.hpp"
#include "core/vault/claimed_child_vault.hpp"
#include "core/vault/in_process_vault.hpp"
#include "core/vault/kek_source.hpp"
#include "core/vault/keyd_server.hpp"
#include "core/vault/sealed_seed.hpp"

namespace {

namespace v = oemlink::vault;

constexpr const char* kUsage = R"(usage: oemlink-keyd --socket PATH [options]

Unseals the vault and serves address/sign/claim/retire requests on a Unix socket. It owns the
child registry: it signs only for children claimed through it and never for a retired one, and
refuses a seed other than the one the registry's claims were made with. Only peers with keyd's
own uid (or, with --host-uid, exactly that uid), or an --allow-uid one, may connect.
SIGTERM or SIGINT: clean exit, seed wiped.

options:
  --socket PATH        Unix socket to listen on (required; mode 0600, 0666 with --host-uid)
  --vault FILE         sealed seed file (default: ./var/oemlink/vault.sealed)
  --registry FILE      the child registry (default: keys.db next to the vault file)
  --host-uid N         the host runs as uid N: admit exactly N, not keyd's own uid
  --kek-env NAME       read the KEK (64 hex chars) from variable NAME (default: OEMLINK_KEK)
  --kek-file PATH      read the KEK from a 0600 file holding 64 hex chars
  --kek-command CMD    run `/bin/sh -c CMD`; its stdout is the KEK (64 hex chars)
  --allow-uid N        also accept clients running as uid N (repeatable)
  --threads N          signing threads (default: number of CPUs, at least 2)
  --cache N            derived child keys kept in locked memory (default 4096, 0: off)
  --log-level LEVEL    trace|debug|info|warn|error (default info)
  --help               this text

Exit status: 0 after a clean shutdown, 1 on failure, 2 on a usage error.
)";

template <class T>
bool parse_uint(const std::string& s, T& out) {
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

int main(int argc, char** argv) {
  // Diagnostics on stderr, as the rest of oemlink does; stdout stays free for scripts.
  spdlog::set_default_logger(spdlog::stderr_color_mt("keyd"));
  // Redacted as the daemon's lines are: an error text may quote what a client sent.
  spdlog::default_logger()->set_formatter(oemlink::make_log_formatter(oemlink::LogLineStyle::text));
  oemlink::harden_process_for_secrets();
  v::take_env_keks_out_of_environment();
  std::vector<std::string> args(argv + 1, argv + argc);
  // The copy above is what we parse; the original is what `ps` shows everyone.
  oemlink::scrub_argument_values(argc, argv, "--kek-command");
  std::filesystem::path vault_file = "var/oemlink/vault.sealed";
  std::filesystem::path registry_file;
  oemlink::KekSourceConfig kek;
  v::KeydServerOptions server;
  size_t cache = v::InProcessVault::kDefaultCacheEntries;
  std::string level = "info";
  int kek_flags = 0;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    const bool has_value = i + 1 < args.size();
    auto usage_error = [&](const std::string& why) {
      std::fprintf(stderr, "oemlink-keyd: %s\n\n%s", why.c_str(), kUsage);
      return 2;
    };
    if (!has_value)
      return usage_error(a.starts_with("--") ? a + " needs a value" : "unexpected " + a);
    const std::string& value = args[++i];
    if (a == "--socket") {
      server.socket = value;
    } else if (a == "--vault") {
      vault_file = value;
    } else if (a == "--kek-env") {
      kek.kind = oemlink::KekSourceConfig::Kind::env;
      kek.value = value;
      ++kek_flags;
    } else if (a == "--kek-file") {
      kek.kind = oemlink::KekSourceConfig::Kind::file;
      kek.value = value;
      ++kek_flags;
    } else if (a == "--kek-command") {
      kek.kind = oemlink::KekSourceConfig::Kind::command;
      kek.value = value;
      ++kek_flags;
    } else if (a == "--registry") {
      registry_file = value;
    } else if (a == "--host-uid") {
      uid_t uid = 0;
      if (!parse_uint(value, uid)) return usage_error("--host-uid needs a numeric uid");
      server.host_uid = uid;
    } else if (a == "--allow-uid") {
      uid_t uid = 0;
      if (!parse_uint(value, uid)) return usage_error("--allow-uid needs a numeric uid");
      server.allowed_uids.push_back(uid);
    } else if (a == "--threads") {
      if (!parse_uint(value, server.threads)) return usage_error("--threads needs a number");
    } else if (a == "--cache") {
      if (!parse_uint(value, cache)) return usage_error("--cache needs a number");
    } else if (a == "--log-level") {
      level = value;
    } else {
      return usage_error("unknown option " + a);
    }
  }
  if (server.socket.empty()) {
    std::fprintf(stderr, "oemlink-keyd: --socket is required\n\n%s", kUsage);
    return 2;
  }
  if (kek_flags > 1) {
    std::fprintf(stderr,
                 "oemlink-keyd: give at most one of --kek-env, --kek-file, --kek-command\n");
    return 2;
  }
  const auto lvl = spdlog::level::from_str(level);
  if (lvl == spdlog::level::off && level != "off") {
    std::fprintf(stderr, "oemlink-keyd: unknown --log-level %s\n", level.c_str());
    return 2;
  }
  spdlog::set_level(lvl);

  if (registry_file.empty()) registry_file = vault_file.parent_path() / "keys.db";

  try {
    v::refuse_missing_vault_with_claims(vault_file, registry_file);
    oemlink::LockedBuffer seed = [&] {
      const v::Kek k = v::load_kek(kek);
      return v::unseal_vault(vault_file, k);
    }();
    v::ClaimedChildVault vault(std::move(seed), cache, registry_file, vault_file);
    server.stop_on_signals = true;
    v::KeydServer keyd(vault, server);
    spdlog::info("keyd: vault {} unsealed (child 0: {}), registry {}; serving on {}{}",
                 vault_file.string(), vault.fingerprint(), registry_file.string(),
                 server.socket.string(),
                 server.host_uid ? " for uid " + std::to_string(*server.host_uid) : "");
    keyd.run();
    spdlog::info("keyd: stopped");
  } catch (const std::exception& e) {
    spdlog::error("keyd: {}", e.what());
    return 1;
  }
  return 0;
}
