#include "core/admin/admin_component.hpp"
#include "core/cli/commands.hpp"
#include "core/cli/driver_check.hpp"
#include "core/cli/logging_setup.hpp"
#include "core/common/early_stop_signal.hpp"
#include "core/common/service_notifier.hpp"
#include "core/config/duration.hpp"
#include "core/host/runtime.hpp"
#include "core/link/link_component.hpp"
#include "core/loader/driver_library.hpp"
#include "core/ops/operations_server.hpp"
#include "core/uplink/sink_registry.hpp"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <memory>

namespace oemlink::cli {
namespace {

constexpr const char* kRunDetails =
    R"(Runs the daemon until SIGINT or SIGTERM: loads the configured drivers, polls or streams every
connection, and writes events to the configured sinks. Without --config it runs the built-in
default configuration (the mock driver with a few simulated cars writing to ./var/oemlink).
SIGHUP re-reads the configuration and applies what can change live (see `oemlink reload`).
Exit status: 0 stopped cleanly, 1 invalid configuration or failure, 2 usage error.)";

// What `oemlink run` builds beyond the host: the linking flow (with listeners.inbound), the
// admin API (with listeners.admin) and /metrics, /healthz, /readyz (with listeners.operations);
// each builds nothing when its listener is not configured. systemd hears STOPPING=1 as soon as
// shutdown begins.
host::RuntimeOptions run_options() {
  host::RuntimeOptions o = host::default_runtime_options();
  o.components.push_back(link::make_link_component);
  o.components.push_back(admin::make_admin_component);
  o.components.push_back(ops::make_operations_component);
  o.on_stopping = [] { ServiceNotifier::stopping(); };
  return o;
}

struct RunOptions {
  std::string config;
  // The sink types this executable delivers to are registered here, explicitly.
  host::RuntimeOptions runtime = run_options();
};

int run_daemon(RunOptions& o) {
  // From here a SIGINT/SIGTERM is recorded, not fatal: the runtime stops gracefully once it runs.
  record_early_stop_signals();
  config::Config cfg;
  try {
    cfg = load_config_or_default(o.config);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "oemlink run: invalid configuration:\n%s\n", e.what());
    return kExitFailure;
  }
  // The checks check-config makes, before anything is opened; skipped drivers are logged by
  // the runtime.
  if (auto drivers = check_drivers(cfg, loader::default_plugin_dirs()); !drivers.errors.empty()) {
    std::fprintf(stderr, "oemlink run: invalid configuration:\n");
    for (const std::string& error : drivers.errors) std::fprintf(stderr, "%s\n", error.c_str());
    return kExitFailure;
  }
  try {
    setup_logging(cfg.logging);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "oemlink run: %s\n", e.what());
    return kExitFailure;
  }
  spdlog::info("oemlink {} starting with {} ({} drivers, {} connections); data dir {}",
               OEMLINK_VERSION, cfg.source.string(), cfg.drivers.size(), cfg.connections.size(),
               cfg.data_dir.string());
  for (const std::string& warning : cfg.warnings) spdlog::warn("{}", warning);
  // SIGHUP re-reads the same file the same way (the built-in default when there was none).
  o.runtime.reload_config = [file = o.config] { return load_config_or_default(file); };
  try {
    host::Runtime runtime(std::move(cfg), o.runtime);
    runtime.start();
    // The outbox, the drivers, the connections and every listener are up (a request waiting in
    // a listener's backlog is served as soon as the loop runs): systemd may start what waits
    // for us (Type=notify).
    ServiceNotifier::ready(fmt::format("serving {} connections", runtime.connection_count()));
    int rc = runtime.run();
    spdlog::default_logger()->flush();
    return rc;
  } catch (const std::exception& e) {
    spdlog::critical("cannot start: {}", e.what());
    spdlog::default_logger()->flush();
    return kExitFailure;
  }
}

}  // namespace

void add_run_command(CommandLine& cli) {
  auto o = std::make_shared<RunOptions>();
  CLI::App* cmd = cli.add_command(
      cli.app(), "run", "run the daemon (default: the built-in configuration)", kRunDetails);
  add_config_option(*cmd, o->config,
                    "YAML configuration, see config/README.md (default: built in)");
  cmd->add_option_function<std::string>(
         "--duration",
         [o](const std::string& text) {
           auto d = config::parse_duration(text);
           if (!d.value) throw CLI::ValidationError("--duration", d.problem);
           o->runtime.duration = *d.value;
         },
         "stop by itself after D (e.g. 30s, 5m)")
      ->type_name("D");
  cmd->add_option("--max-polls", o->runtime.stop_after_polls,
                  "stop by itself after N completed polls")
      ->type_name("N");
  cli.on(cmd, [o] { return run_daemon(*o); });
}

}  // namespace oemlink::cli
