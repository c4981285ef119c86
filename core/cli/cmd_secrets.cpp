// `oemlink secrets set|list`: an operator seeds a connection's first OAuth token (until linking
// exists) and sees which secrets a connection holds. Values are read from a file or stdin and
// never written anywhere but the encrypted store: not to stdout, stderr, a log or an error.
#include "core/cli/commands.hpp"
#include "core/cli/driver_check.hpp"
#include "core/cli/known_connections.hpp"
#include "core/common/data_dir.hpp"
#include "core/common/secure_wipe.hpp"
#include "core/config/key_suggestion.hpp"
#include "core/host/data_dir_lock.hpp"
#include "core/host/data_keys.hpp"
#include "core/host/secret_access.hpp"
#include "core/host/vault_wiring.hpp"

#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iostream>
#include <memory>
#include <stdexcept>

namespace oemlink::cli {
namespace {

// OAuth tokens are a few KiB at most; anything far larger is the wrong file.
constexpr size_t kMaxValueBytes = 64 * 1024;
constexpr size_t kMaxKeyBytes = 128;

constexpr const char* kSecretsDetails =
    R"(A connection's secrets (OAuth tokens) live in the encrypted secret store of the data dir
(secrets.db, sealed under the data KEK), under the driver instance serving the connection.
Connections are those of the connection store (linked and API-added cars too) and the
configuration's; a revoked one takes no secret.
  set    store one value, read from --file F, or from stdin when F is - or --file is absent
         (a terminal does not echo it). One trailing newline is dropped. Nothing prints it.
  list   the connection's key names and when each was last written; never a value
With vault.create_if_missing, `set` creates a missing KEK file and seed as `run` does.
`set` changes the data dir, so oemlink must be stopped: a running driver reads its tokens when a
connection opens and may rotate them at any moment. `list` works beside the running daemon.
Exit status: 0 done, 1 failure, 2 usage error.)";

struct SecretsOptions {
  std::string config, connection, key, file;
  bool file_given = false;
};

// Wipes a string that held a secret, whatever path leaves the scope.
struct WipeOnExit {
  std::string& s;
  ~WipeOnExit() {
    s.resize(s.capacity());  // bytes past size() held the value too (read_bounded shrinks)
    secure_wipe(s);
    s.clear();
  }
};

class SecretsError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The store's connections (linked and API-added ones live only there), then the YAML's.
KnownConnection find_connection(const config::Config& cfg, const std::string& id) {
  if (auto c = find_known_connection(cfg, id)) return *c;
  // Close ids only: a fleet's full list would bury the message.
  std::vector<std::pair<size_t, std::string>> close;
  size_t known = 0;
  for_each_known_connection(cfg, [&](const KnownConnection& c) {
    ++known;
    if (size_t d = config::edit_distance(id, c.id); d <= 2) close.emplace_back(d, c.id);
    return true;
  });
  std::sort(close.begin(), close.end());
  std::string hint;
  for (size_t i = 0; i < close.size() && i < 3; ++i)
    hint += (i ? ", \"" : " (did you mean \"") + close[i].second + "\"";
  if (!hint.empty()) hint += "?)";
  throw SecretsError("no connection \"" + id + "\" in " + known_connections_source(cfg) + hint +
                     "; " + std::to_string(known) + " connection(s) known");
}

void check_key_name(const std::string& key) {
  bool ok = !key.empty() && key.size() <= kMaxKeyBytes &&
            std::all_of(key.begin(), key.end(), [](unsigned char c) {
              return std::isalnum(c) || c == '_' || c == '-' || c == '.';
            });
  if (!ok)
    throw SecretsError("key name \"" + key + "\" must be 1-" + std::to_string(kMaxKeyBytes) +
                       " characters of [A-Za-z0-9_.-]");
}

// Reads at most kMaxValueBytes + 2 (room for a newline) and says which source failed.
void read_bounded(std::istream& in, const std::string& source, std::string& out) {
  out.resize(kMaxValueBytes + 3);
  in.read(out.data(), static_cast<std::streamsize>(out.size()));
  if (in.bad()) throw SecretsError("cannot read the value from " + source);
  out.resize(static_cast<size_t>(in.gcount()));
}

// A terminal gets a prompt on stderr and no echo; the line typed is the value.
void read_from_terminal(std::string& out) {
  termios saved{};
  bool restore = tcgetattr(STDIN_FILENO, &saved) == 0;
  if (restore) {
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  }
  std::fprintf(stderr, "value (not echoed), then Enter: ");
  std::fflush(stderr);
  std::getline(std::cin, out);
  if (restore) tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
  std::fprintf(stderr, "\n");
}

void read_value(const SecretsOptions& o, std::string& value) {
  const bool from_stdin = !o.file_given || o.file == "-";
  std::string source = from_stdin ? "standard input" : o.file;
  if (from_stdin && isatty(STDIN_FILENO)) {
    read_from_terminal(value);
  } else if (from_stdin) {
    read_bounded(std::cin, source, value);
  } else {
    std::ifstream in(o.file, std::ios::binary);
    if (!in) throw SecretsError("cannot open " + o.file + ": " + std::strerror(errno));
    read_bounded(in, source, value);
  }
  if (!value.empty() && value.back() == '\n') {
    value.pop_back();
    if (!value.empty() && value.back() == '\r') value.pop_back();
  }
  if (value.empty()) throw SecretsError("the value read from " + source + " is empty");
  if (value.size() > kMaxValueBytes)
    throw SecretsError("the value read from " + source + " is larger than " +
                       std::to_string(kMaxValueBytes) + " bytes; is it the right file?");
}

host::SecretAccess open_secrets(const config::Config& cfg) {
  return host::SecretAccess([&cfg] {
    const LockedDataKey key = host::open_sealed_data_key(cfg, host::DataKeyPurpose::secrets);
    return std::make_unique<store::SecretStore>(DataDir(cfg.data_dir).secrets_db(), key.get());
  });
}

int set_secret(const SecretsOptions& o) {
  std::string value;
  WipeOnExit wipe{value};
  try {
    config::Config cfg = load_config_or_default(o.config);
    const KnownConnection conn = find_connection(cfg, o.connection);
    // Revoking wiped its tokens for good: a value stored now would be a live token nobody uses.
    if (conn.state == "revoked")
      throw SecretsError("connection " + conn.id + " is revoked: its secrets were wiped for good");
    check_key_name(o.key);
    // Before reading the value, so an operator whose daemon runs is told before typing it.
    host::DataDirLock lock(DataDir(cfg.data_dir), "oemlink secrets set");
    read_value(o, value);
    // A first deployment seeds its cars' tokens before its first run: with
    // vault.create_if_missing, create the KEK (and seed) as `run` would, or the secrets' data
    // key has no KEK to be sealed under.
    const vault::VaultConfig v = host::vault_config_from(cfg);
    if (cfg.vault.create_if_missing && v.backend == vault::VaultConfig::Backend::in_process &&
        !std::filesystem::exists(v.file))
      (void)host::open_configured_vault(cfg);
    host::SecretAccess secrets = open_secrets(cfg);
    const std::pair<std::string_view, std::string_view> pair{o.key, value};
    // One durable transaction (synchronous=FULL): on disk when this returns.
    secrets.put(host::SecretAccess::connection_owner(conn.driver, conn.id), {&pair, 1},
                host::SecretAccess::legacy_connection_owner(conn.id));
    std::printf("stored %s for connection %s (driver %s)\n", o.key.c_str(), conn.id.c_str(),
                conn.driver.c_str());
    return kExitOk;
  } catch (const host::DataDirBusy& e) {
    std::fprintf(stderr,
                 "%s (a running driver reads its tokens when a connection opens and may rotate "
                 "them at any moment: a value written behind it could be lost, or undo a "
                 "rotation)\n",
                 e.what());
    return kExitFailure;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "oemlink secrets set: %s\n", e.what());
    return kExitFailure;
  }
}

std::string utc(int64_t unix_ms) {
  std::time_t t = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

int list_secrets(const SecretsOptions& o) {
  try {
    config::Config cfg = load_config_or_default(o.config);
    const KnownConnection conn = find_connection(cfg, o.connection);
    DataDir dir(cfg.data_dir);
    std::vector<store::SecretInfo> rows;
    std::string owner = host::SecretAccess::connection_owner(conn.driver, conn.id);
    std::string legacy = host::SecretAccess::legacy_connection_owner(conn.id);
    bool from_legacy = false;
    // Listing creates nothing: no store yet means no secrets.
    if (std::filesystem::exists(dir.secrets_db()) && std::filesystem::exists(dir.secrets_key())) {
      const LockedDataKey key = host::open_sealed_data_key(cfg, host::DataKeyPurpose::secrets);
      store::SecretStore store(dir.secrets_db(), key.get());
      rows = store.list(owner);
      if (rows.empty()) {
        rows = store.list(legacy);
        from_legacy = !rows.empty();
      }
    }
    size_t width = 3;
    for (const auto& r : rows) width = std::max(width, r.key.size());
    for (const auto& r : rows)
      std::printf("%-*s  %s\n", static_cast<int>(width), r.key.c_str(), utc(r.updated_ms).c_str());
    std::printf(
        "%zu secret(s) for connection %s (driver %s)%s\n", rows.size(), conn.id.c_str(),
        conn.driver.c_str(),
        from_legacy ? "; stored by an older oemlink, moved to this driver on first use" : "");
    return kExitOk;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "oemlink secrets list: %s\n", e.what());
    return kExitFailure;
  }
}

}  // namespace

void add_secrets_commands(CommandLine& cli) {
  CLI::App* group = cli.add_group("secrets", "a connection's OAuth secrets", kSecretsDetails);

  auto set = std::make_shared<SecretsOptions>();
  CLI::App* set_cmd = cli.add_command(
      *group, "set", "store one secret of a connection (value from a file or stdin)");
  set_cmd->add_option("CONNECTION", set->connection, "the connection's id")->required();
  set_cmd->add_option("KEY", set->key, "the secret's name, e.g. refresh_token")->required();
  set_cmd
      ->add_option_function<std::string>(
          "--file",
          [set](const std::string& f) {
            set->file = f;
            set->file_given = true;
          },
          "read the value from FILE (- or absent: stdin)")
      ->type_name("F")
      ->check(not_empty);
  add_config_option(*set_cmd, set->config);
  cli.on(set_cmd, [set] { return set_secret(*set); });

  auto list = std::make_shared<SecretsOptions>();
  CLI::App* list_cmd =
      cli.add_command(*group, "list", "a connection's secret names and update times, no values");
  list_cmd->add_option("CONNECTION", list->connection, "the connection's id")->required();
  add_config_option(*list_cmd, list->config);
  cli.on(list_cmd, [list] { return list_secrets(*list); });
}

}  // namespace oemlink::cli
