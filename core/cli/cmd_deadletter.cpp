#include "core/cli/commands.hpp"
#include "core/cli/driver_check.hpp"
#include "core/common/data_dir.hpp"
#include "core/common/secure_wipe.hpp"
#include "core/host/data_keys.hpp"
#include "core/host/vault_wiring.hpp"
#include "core/store/outbox_store.hpp"
#include "core/vault/kek_source.hpp"

#include <signal.h>
#include <boost/json.hpp>

#include <cstdio>
#include <fstream>
#include <sstream>

namespace oemlink::cli {

static constexpr const char* kDeadLetterHelp =
    R"(usage: oemlink deadletter list|retry|purge [--config FILE] [--sink NAME] [--seq N]

Events a sink's peer rejected for good (HTTP 400) are kept in the outbox's dead-letter table,
never retried automatically.
  list    show them: sequence, sink, event id, connection, failure time and the peer's reason
  retry   put them back into the outbox for delivery (after fixing the cause)
  purge   delete them
--sink and --seq narrow the selection. retry and purge change the outbox, so oemlink must be
stopped. Opening the outbox needs the deployment's KEK (as configured under vault.kek).
Exit status: 0 done, 1 failure, 2 usage error.
)";

namespace {

// The pid in status.json, when that process is alive: retry/purge must not race the daemon.
bool daemon_running(const std::filesystem::path& data_dir) {
  std::ifstream in(DataDir(data_dir).status_json());
  if (!in) return false;
  std::stringstream ss;
  ss << in.rdbuf();
  boost::system::error_code ec;
  auto doc = boost::json::parse(ss.str(), ec);
  if (ec || !doc.is_object()) return false;
  auto* running = doc.as_object().if_contains("running");
  auto* pid = doc.as_object().if_contains("pid");
  if (!running || !running->is_bool() || !running->as_bool() || !pid || !pid->is_int64())
    return false;
  return kill(static_cast<pid_t>(pid->as_int64()), 0) == 0;
}

}  // namespace

int cmd_deadletter(const Args& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::fputs(kDeadLetterHelp, args.empty() ? stderr : stdout);
    return args.empty() ? 2 : 0;
  }
  std::string action = args[0], config_path, sink;
  std::optional<uint64_t> seq;
  for (size_t i = 1; i < args.size(); ++i) {
    if ((args[i] == "--config" || args[i] == "-c") && i + 1 < args.size()) {
      config_path = args[++i];
    } else if (args[i] == "--sink" && i + 1 < args.size()) {
      sink = args[++i];
    } else if (args[i] == "--seq" && i + 1 < args.size()) {
      try {
        seq = std::stoull(args[++i]);
      } catch (...) {
        std::fputs("oemlink deadletter: --seq expects a number\n", stderr);
        return 2;
      }
    } else {
      std::fputs(kDeadLetterHelp, stderr);
      return 2;
    }
  }
  if (action != "list" && action != "retry" && action != "purge") {
    std::fputs(kDeadLetterHelp, stderr);
    return 2;
  }
  try {
    config::Config cfg = load_config_or_default(config_path);
    if (action != "list" && daemon_running(cfg.data_dir)) {
      std::fprintf(stderr, "oemlink deadletter %s: oemlink is running on %s; stop it first\n",
                   action.c_str(), cfg.data_dir.c_str());
      return 1;
    }
    DataKey key = host::open_sealed_data_key(cfg, host::DataKeyPurpose::outbox);
    store::OutboxOptions o;
    o.path = DataDir(cfg.data_dir).outbox_db();
    for (const auto& s : cfg.sinks) o.sinks.push_back(s.name);
    store::OutboxStore outbox(o, key, nullptr);
    secure_wipe(key);
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
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "oemlink deadletter %s: %s\n", action.c_str(), e.what());
    return 1;
  }
}

}  // namespace oemlink::cli
