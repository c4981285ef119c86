#include "core/cli/commands.hpp"
#include "core/cli/driver_check.hpp"
#include "core/common/data_dir.hpp"
#include "core/common/wall_clock.hpp"
#include "core/host/status_snapshot.hpp"

#include <boost/json/serialize.hpp>

#include <cstdio>
#include <memory>

namespace oemlink::cli {
namespace {

constexpr const char* kStatusDetails =
    R"(Shows what a running (or the last) oemlink wrote to its data dir: whether it runs, poll and
pipeline counters, the outbox's depth and the age of its oldest record (and, when its commits
fail, e.g. on a full disk, that it is not writable and why), and per sink the events
delivered, retried and dead-lettered. Reads files only; needs no key.
Exit status: 0 running (with --json: a status exists), 1 not running or no status yet,
2 usage error.)";

struct StatusOptions {
  std::string config;
  bool json = false;
};

// Summed over drivers (and any other label but `match`'s).
unsigned long long total(const host::StatusSnapshot& s, const char* name,
                         const std::map<std::string, std::string>& match = {}) {
  return static_cast<unsigned long long>(host::metric_total(s, name, match));
}

void print_status(const host::StatusSnapshot& st, bool running) {
  int64_t now = unix_ms();
  std::printf("oemlink %s (pid %lld), status written %lld s ago\n",
              running ? "running" : "NOT running", static_cast<long long>(st.pid),
              static_cast<long long>((now - st.updated_ms) / 1000));
  std::printf("connections: %llu   polls ok %llu, retry %llu, error %llu, hung %llu\n",
              static_cast<unsigned long long>(st.connections),
              total(st, "oemlink_polls_total", {{"outcome", "ok"}}),
              total(st, "oemlink_polls_total", {{"outcome", "retry"}}),
              total(st, "oemlink_polls_total", {{"outcome", "error"}}),
              total(st, "oemlink_polls_hung_total"));
  std::printf(
      "pipeline:    events %llu, readings accepted %llu, rejected %llu, events "
      "rejected %llu, back-pressured %llu\n",
      total(st, "oemlink_pipeline_events_built_total"),
      total(st, "oemlink_pipeline_readings_accepted_total"),
      total(st, "oemlink_pipeline_readings_rejected_total"),
      total(st, "oemlink_pipeline_events_rejected_total"),
      total(st, "oemlink_pipeline_events_backpressured_total"));
  if (const auto& ob = st.outbox) {
    std::printf(
        "outbox:      depth %llu (%llu KiB), oldest %lld s; appended %llu, dropped %llu, "
        "refused %llu, corrupt %llu, dead letters %llu\n",
        static_cast<unsigned long long>(ob->depth),
        static_cast<unsigned long long>(ob->bytes / 1024),
        static_cast<long long>(ob->oldest_ms ? (now - ob->oldest_ms) / 1000 : 0),
        static_cast<unsigned long long>(ob->appended), static_cast<unsigned long long>(ob->dropped),
        static_cast<unsigned long long>(ob->refused), static_cast<unsigned long long>(ob->corrupt),
        static_cast<unsigned long long>(ob->dead_letters));
    if (ob->commit_failing)
      std::printf(
          "outbox:      NOT WRITABLE: %llu failed commits in a row: %s (producers wait; nothing "
          "is lost)\n",
          static_cast<unsigned long long>(ob->commit_failures), ob->commit_error.c_str());
  }
  for (const host::SinkSnapshot& k : st.sinks) {
    std::printf("sink %-8s delivered %llu, retried %llu, dead-lettered %llu, in flight %llu\n",
                k.name.c_str(), static_cast<unsigned long long>(k.delivered),
                static_cast<unsigned long long>(k.retried),
                static_cast<unsigned long long>(k.dead_lettered),
                static_cast<unsigned long long>(k.in_flight));
  }
  for (const host::DriverSnapshot& d : st.drivers) {
    if (d.state == "loaded") continue;  // the usual case: only the exceptions are worth a line
    std::printf("driver %-8s %s: %s\n", d.name.c_str(), d.state.c_str(), d.reason.c_str());
  }
  if (const auto& r = st.reload) {
    std::printf("last reload: #%llu %s %lld s ago: %s\n",
                static_cast<unsigned long long>(r->number), r->outcome.c_str(),
                static_cast<long long>((now - r->at_ms) / 1000), r->summary.c_str());
    for (const std::string& e : r->errors) std::printf("  %s\n", e.c_str());
    std::printf("reloads:     applied %llu, refused %llu, failed %llu\n",
                total(st, "oemlink_reloads_total", {{"outcome", "applied"}}),
                total(st, "oemlink_reloads_total", {{"outcome", "refused"}}),
                total(st, "oemlink_reloads_total", {{"outcome", "failed"}}));
  }
  std::printf("logs:        lines suppressed %llu, driver lines suppressed %llu\n",
              total(st, "oemlink_log_lines_suppressed_total"),
              total(st, "oemlink_driver_log_lines_suppressed_total"));
}

int status(const StatusOptions& o) {
  config::Config cfg;
  try {
    cfg = load_config_or_default(o.config);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return kExitFailure;
  }
  std::optional<host::StatusSnapshot> st;
  try {
    st = host::read_status_file(DataDir(cfg.data_dir).status_json());
  } catch (const host::StatusFileError& e) {
    std::fprintf(stderr, "oemlink status: %s\n", e.what());
    return kExitFailure;
  }
  if (!st) {
    std::printf("no status in %s: oemlink has not run with this data dir\n", cfg.data_dir.c_str());
    return kExitFailure;
  }
  if (o.json) {
    std::printf("%s\n", boost::json::serialize(host::to_json(*st)).c_str());
    return kExitOk;
  }
  bool running = host::daemon_alive(*st);
  print_status(*st, running);
  return running ? kExitOk : kExitFailure;
}

}  // namespace

void add_status_command(CommandLine& cli) {
  auto o = std::make_shared<StatusOptions>();
  CLI::App* cmd =
      cli.add_command(cli.app(), "status", "counters, outbox depth and sinks of the running daemon",
                      kStatusDetails);
  add_config_option(*cmd, o->config,
                    "the configuration whose data_dir to read (default: built in)");
  cmd->add_flag("--json", o->json, "print the status document as JSON");
  cli.on(cmd, [o] { return status(*o); });
}

}  // namespace oemlink::cli
