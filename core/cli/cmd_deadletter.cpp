#include "core/cli/commands.hpp"
#include "core/cli/driver_check.hpp"
#include "core/common/data_dir.hpp"
#include "core/common/secure_wipe.hpp"
#include "core/host/data_dir_lock.hpp"
#include "core/host/data_keys.hpp"
#include "core/host/status_snapshot.hpp"
#include "core/store/outbox_store.hpp"

#include <cstdio>
#include <memory>
#include <optional>

namespace oemlink::cli {
namespace {

constexpr const char* kDeadLetterDetails =
    R"(Events a sink's peer rejected for good (HTTP 400) are kept in the outbox's dead-letter table,
never retried automatically.
  list    show them: sequence, sink, event id, connection, failure time and the peer's reason
  retry   put them back into the outbox for delivery (after fixing the cause)
  purge   delete them
retry and purge change the outbox, so oemlink must be stopped. Opening the outbox needs the
data KEK (data_kek, or vault.kek when data_kek is not configured).
Exit status: 0 done, 1 failure, 2 usage error.)";

struct DeadLetterOptions {
  std::string action, config, sink;
  std::optional<uint64_t> seq;
};

// retry/purge must not race the daemon. A status file that cannot be read does not say, so it
// does not stop the command; it is shown, though.
// The running daemon's pid by its status file, or 0.
int64_t daemon_running(const std::filesystem::path& data_dir) {
  try {
    auto st = host::read_status_file(DataDir(data_dir).status_json());
    return st && host::daemon_alive(*st) ? st->pid : 0;
  } catch (const host::StatusFileError& e) {
    std::fprintf(stderr, "oemlink deadletter: warning: %s\n", e.what());
    return 0;
  }
}

int deadletter(const DeadLetterOptions& o) {
  const std::string& action = o.action;
  const std::string& sink = o.sink;
  const std::optional<uint64_t>& seq = o.seq;
  try {
    config::Config cfg = load_config_or_default(o.config);
    if (int64_t pid = action != "list" ? daemon_running(cfg.data_dir) : 0) {
      std::fprintf(stderr,
                   "oemlink deadletter %s: data dir %s is in use by oemlink pid %lld; stop it "
                   "first\n",
                   action.c_str(), cfg.data_dir.c_str(), static_cast<long long>(pid));
      return kExitFailure;
    }
    // The daemon holds the data dir's lock for as long as it runs; a change takes it too, so the
    // two can never write the outbox at once. `list` only reads, and works beside the daemon.
    std::optional<host::DataDirLock> lock;
    if (action != "list") lock.emplace(DataDir(cfg.data_dir), "oemlink deadletter " + action);
    const LockedDataKey key = host::open_sealed_data_key(cfg, host::DataKeyPurpose::outbox);
    store::OutboxOptions options;
    options.path = DataDir(cfg.data_dir).outbox_db();
    for (const auto& s : cfg.sinks) options.sinks.push_back(s.name);
    store::OutboxStore outbox(options, key.get(), nullptr);
    if (action == "list") {
      auto rows = outbox.dead_letters(sink);
      for (const auto& d : rows) {
        if (seq && d.seq != *seq) continue;
        std::printf("%llu  %-8s %s  %s  %lld  %s\n", static_cast<unsigned long long>(d.seq),
                    d.sink.c_str(), d.event_id.c_str(), d.connection_id.c_str(),
                    static_cast<long long>(d.failed_ms), d.reason.c_str());
      }
      std::printf("%zu dead letters\n", rows.size());
    } else if (action == "retry") {
      std::printf("%zu dead letters queued again for delivery\n",
                  outbox.retry_dead_letters(sink, seq));
    } else {
      std::printf("%zu dead letters purged\n", outbox.purge_dead_letters(sink, seq));
    }
    return kExitOk;
  } catch (const host::DataDirBusy& e) {
    std::fprintf(stderr, "%s\n", e.what());  // names the command and the daemon's pid
    return kExitFailure;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "oemlink deadletter %s: %s\n", action.c_str(), e.what());
    return kExitFailure;
  }
}

}  // namespace

void add_deadletter_command(CommandLine& cli) {
  auto o = std::make_shared<DeadLetterOptions>();
  CLI::App* cmd = cli.add_command(cli.app(), "deadletter", "events a sink's peer rejected for good",
                                  kDeadLetterDetails);
  cmd->add_option("list|retry|purge", o->action, "what to do with them")
      ->required()
      ->check(CLI::IsMember({"list", "retry", "purge"}));
  add_config_option(*cmd, o->config, "the configuration whose outbox to open (default: built in)");
  cmd->add_option("--sink", o->sink, "only the dead letters of this sink")->type_name("NAME");
  cmd->add_option_function<uint64_t>(
         "--seq", [o](const uint64_t& n) { o->seq = n; }, "only the dead letter with this sequence")
      ->type_name("N");
  cli.on(cmd, [o] { return deadletter(*o); });
}

}  // namespace oemlink::cli
