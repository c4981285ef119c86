#include "core/cli/commands.hpp"
#include "core/cli/driver_check.hpp"
#include "core/common/data_dir.hpp"
#include "core/host/driver_quarantine.hpp"
#include "core/loader/driver_library.hpp"

#include <chrono>
#include <map>
#include <optional>

#include <cstdio>
#include <memory>

namespace oemlink::cli {

namespace {

// The configuration, or nullopt once what is wrong with it is printed.
std::optional<config::Config> load_or_say(const std::string& path) {
  try {
    return load_config_or_default(path);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return std::nullopt;
  }
}

host::QuarantinePolicy quarantine_policy(const config::Config& cfg) {
  return {cfg.quarantine.after_crashes, cfg.quarantine.crash_window};
}

int64_t wall_ms_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

const char* type_name(oemlink_setting_type t) {
  switch (t) {
    case OEMLINK_SETTING_STRING:
      return "string";
    case OEMLINK_SETTING_INT:
      return "int";
    case OEMLINK_SETTING_NUMBER:
      return "number";
    case OEMLINK_SETTING_BOOL:
      return "bool";
    case OEMLINK_SETTING_DURATION_MS:
      return "duration";
    case OEMLINK_SETTING_OBJECT:
      return "object";
    default:
      return "?";
  }
}

int plugins_list(const std::string& path) {
  std::optional<config::Config> loaded = load_or_say(path);
  if (!loaded) return kExitFailure;
  const config::Config& cfg = *loaded;
  int rc = kExitOk;
  // What the daemon will not load (read only: a list never writes the fault log).
  std::vector<std::string> names;
  for (const config::DriverConfig& dc : cfg.drivers) names.push_back(dc.name);
  std::map<std::string, host::QuarantineState> judged;
  try {
    judged = host::DriverQuarantine(DataDir(cfg.data_dir).driver_faults_log())
                 .judge(names, quarantine_policy(cfg), wall_ms_now(), /*record=*/false);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
  }
  std::printf("%-16s %-16s %-10s %-5s %-22s %s\n", "ENTRY", "DRIVER", "VERSION", "ABI",
              "CAPABILITIES", "LIBRARY");
  for (const DriverCheck& c : check_drivers(cfg, loader::default_plugin_dirs()).drivers) {
    if (auto q = judged.find(c.cfg->name); q != judged.end() && q->second.quarantined)
      std::printf("%-16s QUARANTINED: %s (`oemlink plugins unquarantine %s` clears it)\n",
                  c.cfg->name.c_str(), q->second.reason.c_str(), c.cfg->name.c_str());
    if (!c.descriptor) {
      std::printf("%-16s ERROR: %s\n", c.cfg->name.c_str(), c.error.c_str());
      if (!c.skipped) rc = kExitFailure;
      continue;
    }
    const oemlink_driver* d = c.descriptor;
    std::string abi = std::to_string(d->abi_major) + "." + std::to_string(d->abi_minor);
    std::printf("%-16s %-16s %-10s %-5s %-22s %s\n", c.cfg->name.c_str(), d->name, d->version,
                abi.c_str(), loader::describe_capabilities(d->capabilities).c_str(),
                c.path.c_str());
    if (!c.error.empty()) {
      std::printf("%-16s ERROR: %s\n", "", c.error.c_str());
      rc = kExitFailure;
    }
  }
  return rc;
}

int plugins_unquarantine(const std::string& path, const std::string& name) {
  std::optional<config::Config> loaded = load_or_say(path);
  if (!loaded) return kExitFailure;
  const config::Config& cfg = *loaded;
  bool configured = false;
  for (const config::DriverConfig& dc : cfg.drivers) configured = configured || dc.name == name;
  if (!configured) {
    std::fprintf(stderr, "no driver named \"%s\" in %s\n", name.c_str(),
                 cfg.source.string().c_str());
    return kExitFailure;
  }
  host::DriverQuarantine log(DataDir(cfg.data_dir).driver_faults_log());
  const auto judged = log.judge({name}, quarantine_policy(cfg), wall_ms_now(), /*record=*/false);
  const bool was = judged.at(name).quarantined;
  try {
    log.clear(name, wall_ms_now());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return kExitFailure;
  }
  if (was)
    std::printf(
        "driver %s: quarantine cleared (it was: %s); it loads at the next start, or now with "
        "`oemlink reload`\n",
        name.c_str(), judged.at(name).reason.c_str());
  else
    std::printf("driver %s was not quarantined; its crash count starts again from now\n",
                name.c_str());
  return kExitOk;
}

int plugins_info(const std::string& library) {
  try {
    std::filesystem::path p =
        library.find('/') != std::string::npos
            ? std::filesystem::path(library)
            : loader::resolve_driver_library(library, {}, loader::default_plugin_dirs());
    auto loaded = loader::load_driver_library(p);
    const oemlink_driver* d = loaded.descriptor;
    std::printf(
        "name:         %s\nversion:      %s\ndescription:  %s\nABI:          %u.%u "
        "(host %d.%d)\ncapabilities: %s\nlibrary:      %s\n",
        d->name, d->version, d->description ? d->description : "", d->abi_major, d->abi_minor,
        OEMLINK_ABI_MAJOR, OEMLINK_ABI_MINOR,
        loader::describe_capabilities(d->capabilities).c_str(), loaded.path.c_str());
    std::printf("settings:%s\n", d->setting_count ? "" : " none");
    for (size_t i = 0; i < d->setting_count; ++i) {
      const oemlink_setting& s = d->settings[i];
      std::string flags;
      if (s.flags & OEMLINK_SETTING_REQUIRED) flags += " required";
      if (s.flags & OEMLINK_SETTING_SECRET) flags += " secret";
      std::printf("  %-26s %-9s%s%s%s\n      %s\n", s.name, type_name(s.type), flags.c_str(),
                  s.default_value ? "  default: " : "", s.default_value ? s.default_value : "",
                  s.description ? s.description : "");
    }
    return kExitOk;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return kExitFailure;
  }
}

}  // namespace

void add_plugins_commands(CommandLine& cli) {
  CLI::App* plugins = cli.add_group("plugins", "driver libraries, without starting anything",
                                    "Exit status: 0 success, 1 failure, 2 usage error.");

  auto config = std::make_shared<std::string>();
  CLI::App* list = cli.add_command(
      *plugins, "list", "list the configured drivers without starting anything",
      "Loads every driver library the configuration names (without creating instances or opening\n"
      "connections) and prints name, version, ABI version and capabilities.\n"
      "Exit status: 0 all loaded, 1 any failed, 2 usage error.");
  add_config_option(*list, *config);
  cli.on(list, [config] { return plugins_list(*config); });

  auto library = std::make_shared<std::string>();
  CLI::App* info = cli.add_command(
      *plugins, "info", "show a driver library's name, version, ABI and settings",
      "Loads one library (a path, or a bare name looked up in the plugin directories) and prints\n"
      "its descriptor and settings table.\n"
      "Exit status: 0 loaded, 1 failed, 2 usage error.");
  info->add_option("PATH|NAME", *library, "the driver library")->required();
  cli.on(info, [library] { return plugins_info(*library); });

  auto uq_config = std::make_shared<std::string>();
  auto name = std::make_shared<std::string>();
  CLI::App* unquarantine = cli.add_command(
      *plugins, "unquarantine", "let a quarantined driver load again",
      "A driver that crashed the host quarantine.after_crashes times within\n"
      "quarantine.crash_window, or hung quarantine.after_hung_polls polls within\n"
      "quarantine.hung_window, is not loaded (see `oemlink plugins list` and `oemlink status`).\n"
      "This clears it in the data dir's driver-faults.log: it loads at the next start, or at\n"
      "once with `oemlink reload`.\n"
      "Exit status: 0 cleared, 1 failure (no such driver, the log cannot be written), 2 usage "
      "error.");
  add_config_option(*unquarantine, *uq_config);
  unquarantine->add_option("NAME", *name, "the driver entry's name")->required();
  cli.on(unquarantine, [uq_config, name] { return plugins_unquarantine(*uq_config, *name); });
}

}  // namespace oemlink::cli
