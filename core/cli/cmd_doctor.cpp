// `oemlink doctor`: checks a deployment and prints what passed, warned and failed.
#include "core/cli/commands.hpp"
#include "core/cli/doctor.hpp"

#include <csignal>
#include <cstdio>
#include <memory>

namespace oemlink::cli {
namespace {

constexpr const char* kDoctorDetails =
    R"(Checks, in order: the configuration (as check-config); the data dir (exists or can be
created, owned by this user, 0700, writable, free space: fails under 100 MiB, warns under
outbox.max_bytes); that the KEKs open the vault (with backend keyd: that keyd answers) and the
outbox's and secret store's data keys; each sink (dimo_https: TCP, the TLS chain against ca_file,
the server's certificate, our client certificate's expiry - expired fails, within 30 days warns -
and that the peer accepts it, through one mutual-TLS GET of the URL's path; mqtt: TCP and TLS;
file: its directory is writable); each driver's library; the clock against the dimo_https peer's
Date header (warns beyond 1 minute, fails beyond the ingest's 5); each listener's address:port
(skipped while the daemon holds the data dir). Only reads: it runs beside the daemon and never
takes its lock. It never prints a secret.
Exit status: 0 every check passed (warnings allowed), 1 a check failed, 2 usage error.)";

struct DoctorOptions {
  std::string config;
  bool json = false;
};

int doctor(const DoctorOptions& o) {
  // A peer that refuses our certificate closes on us mid-write: that is a finding, not a reason
  // to die of SIGPIPE (OpenSSL writes to the socket with plain write()).
  std::signal(SIGPIPE, SIG_IGN);
  DoctorContext ctx;
  ctx.config_path = o.config;
  DoctorReport report;
  doctor_config(ctx, report);
  doctor_data_dir(ctx, report);
  doctor_keys(ctx, report);
  doctor_sinks(ctx, report);
  doctor_drivers(ctx, report);
  doctor_clock(ctx, report);
  doctor_listeners(ctx, report);
  const std::string text = o.json ? doctor_json(report) : doctor_table(report);
  std::fwrite(text.data(), 1, text.size(), stdout);
  return report.ok() ? kExitOk : kExitFailure;
}

}  // namespace

void add_doctor_command(CommandLine& cli) {
  auto o = std::make_shared<DoctorOptions>();
  CLI::App* cmd = cli.add_command(cli.app(), "doctor",
                                  "check a deployment: config, data dir, keys, sinks, drivers, "
                                  "clock, listeners",
                                  kDoctorDetails);
  add_config_option(*cmd, o->config, "the configuration to check (default: the built-in one)");
  cmd->add_flag("--json", o->json, "one JSON object instead of the table");
  cli.on(cmd, [o] { return doctor(*o); });
}

}  // namespace oemlink::cli
