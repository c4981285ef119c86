#include "core/cli/commands.hpp"
#include "core/cli/driver_check.hpp"
#include "core/cli/logging_setup.hpp"
#include "core/config/duration.hpp"
#include "core/host/runtime.hpp"
#include "core/uplink/sink_registry.hpp"
#include "core/loader/driver_library.hpp"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <iostream>

namespace oemlink::cli {

static constexpr const char* kRunHelp =
    R"(usage: oemlink run [--config FILE] [--duration D] [--max-polls N]

Runs the daemon until SIGINT or SIGTERM: loads the configured drivers, polls or streams every
connection, and writes events to the configured sinks. Without --config it runs the built-in
default configuration (the mock driver with a few simulated cars writing to ./var/oemlink).

  --config FILE    YAML configuration (see config/README.md)
  --duration D     stop by itself after D (e.g. 30s, 5m)
  --max-polls N    stop by itself after N completed polls
)";

int cmd_run(const Args& args) {
  std::string config_path;
  host::RuntimeOptions opts;
  uplink::register_builtin_sinks(opts.sinks);  // the sink types this executable delivers to
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&]() -> const std::string* {
      if (i + 1 >= args.size()) {
        std::fprintf(stderr, "oemlink run: %s needs a value\n", a.c_str());
        return nullptr;
      }
      return &args[++i];
    };
    if (a == "--help" || a == "-h") {
      std::fputs(kRunHelp, stdout);
      return 0;
    } else if (a == "--config" || a == "-c") {
      auto v = value();
      if (!v) return 2;
      config_path = *v;
    } else if (a == "--duration") {
      auto v = value();
      if (!v) return 2;
      auto d = config::parse_duration(*v);
      if (!d.value) {
        std::fprintf(stderr, "oemlink run: --duration: %s\n", d.problem.c_str());
        return 2;
      }
      opts.duration = *d.value;
    } else if (a == "--max-polls") {
      auto v = value();
      if (!v) return 2;
      try {
        opts.stop_after_polls = std::stoull(*v);
      } catch (...) {
        std::fprintf(stderr, "oemlink run: --max-polls expects a number\n");
        return 2;
      }
    } else {
      std::fprintf(stderr, "oemlink run: unknown option '%s'\n\n%s", a.c_str(), kRunHelp);
      return 2;
    }
  }
  config::Config cfg;
  try {
    cfg = load_config_or_default(config_path);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "oemlink run: invalid configuration:\n%s\n", e.what());
    return 1;
  }
  // The checks check-config makes, before anything is opened; skipped drivers are logged by
  // the runtime.
  if (auto drivers = check_drivers(cfg, loader::default_plugin_dirs()); !drivers.errors.empty()) {
    std::fprintf(stderr, "oemlink run: invalid configuration:\n");
    for (const std::string& error : drivers.errors) std::fprintf(stderr, "%s\n", error.c_str());
    return 1;
  }
  try {
    setup_logging(cfg.logging);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "oemlink run: %s\n", e.what());
    return 1;
  }
  spdlog::info("oemlink {} starting with {} ({} drivers, {} connections); data dir {}",
               OEMLINK_VERSION, cfg.source.string(), cfg.drivers.size(), cfg.connections.size(),
               cfg.data_dir.string());
  for (const std::string& warning : cfg.warnings) spdlog::warn("{}", warning);
  try {
    host::Runtime runtime(std::move(cfg), opts);
    runtime.start();
    int rc = runtime.run();
    spdlog::default_logger()->flush();
    return rc;
  } catch (const std::exception& e) {
    spdlog::critical("cannot start: {}", e.what());
    spdlog::default_logger()->flush();
    return 1;
  }
}

}  // namespace oemlink::cli
